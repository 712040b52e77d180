/**
 * An eBPF SOCKET_FILTER equivalent to the classic UDP-port filter in packet-child.ts, loaded straight
 * through loadProgram (LD_ABS reads the frame from its MAC header on a packet socket).
 */
import { encodeProgram } from '../../../src/isa/codec.js';
import { loadProgram } from '../../../src/kernel/prog-load.js';
import { closeFd } from '../../../src/kernel/bpf-syscall.js';
import { ProgType } from '../../../src/uapi/types.js';
import { exit, ja, jmpImm, ldAbs, mov64Imm, mov64Reg, op, prog } from './insns.js';

export function loadUdpPortProgram(port: number): { fd: number; close(): void } {
  const insns = prog(
    mov64Reg(6, 1), // LD_ABS reads through the context in r6
    ldAbs(op.BPF_H, 12), // r0 = ethertype
    jmpImm(op.BPF_JNE, 0, 0x0800, 5),
    ldAbs(op.BPF_B, 23), // r0 = IP protocol
    jmpImm(op.BPF_JNE, 0, 17, 3),
    ldAbs(op.BPF_H, 36), // r0 = UDP destination port
    jmpImm(op.BPF_JNE, 0, port, 1),
    ja(2),
    mov64Imm(0, 0),
    exit(),
    mov64Imm(0, 0x40000),
    exit(),
  );
  const { fd } = loadProgram({
    name: 'udp_port',
    type: ProgType.SOCKET_FILTER,
    insns: encodeProgram(insns),
    license: 'GPL',
  });
  return { fd, close: () => closeFd(fd) };
}
