/**
 * `urls -i IFACE --filter EXPR`: the pcap-filter expression in the kernel, in front of the URL filter.
 * A socket carries one filter program, so the expression's program is the one attached, and the URL
 * filter is reached from it by a tail call: the expression is compiled for EN10MB (what an AF_PACKET
 * socket on Ethernet and loopback delivers) to classic BPF, converted to a SOCKET_FILTER program
 * (filterToForm 'socket'), and every exit of that program goes to an epilogue that drops the packet
 * (returns 0) when the expression refuses it and otherwise tail-calls slot 0 of a one-slot PROG_ARRAY
 * holding the URL filter, whose verdict is then the socket's. What the expression refuses never reaches
 * the URL filter (its sessions map does not see it) nor userspace: the cost of a refused packet is the
 * expression's few instructions in the kernel, instead of a copy to userspace and a test there.
 */
import { compileFilter, filterToForm } from '../../pcap-filter/index.js';
import { encodeProgram, makeInsn, BPF_JMP, BPF_JMP32, BPF_EXIT, BPF_JA, BPF_JEQ, BPF_K } from '../../isa/index.js';
import { BPF_ALU64, BPF_MOV, BPF_X, BPF_CALL, OP_LDDW, BPF_PSEUDO_MAP_FD, type Instruction } from '../../isa/index.js';
import { createMap, loadProgram, mapFromFd } from '../../kernel/index.js';
import { closeFd } from '../../kernel/bpf-syscall.js';
import { MapType, ProgType } from '../../uapi/types.js';

/** bpf_tail_call's helper number (uapi's __BPF_FUNC_MAPPER). */
const BPF_FUNC_TAIL_CALL = 12;

/** The program to attach to the socket instead of the URL filter, and what to release after the capture. */
export interface FrontFilter {
  /** fd of the expression's program (attach this) */
  fd: number;
  /** close the program and the PROG_ARRAY */
  close(): void;
}

/**
 * Load `expression` as a SOCKET_FILTER that tail-calls the program `nextFd` (also a SOCKET_FILTER) for
 * the packets it keeps. A bad expression throws FilterSyntaxError before anything is made in the kernel.
 */
export function frontFilter(expression: string, nextFd: number): FrontFilter {
  const prog = compileFilter(expression, { linktype: 'EN10MB' });
  const insns = filterToForm(prog, 'socket', 'expression').insns;
  const mapFd = createMap({ name: 'urls_next', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  const slots = mapFromFd(mapFd, 'urls_next');
  try {
    const key = new Uint8Array(4);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, nextFd, true);
    const fd = loadProgram({
      name: 'urls_expr',
      type: ProgType.SOCKET_FILTER,
      insns: encodeProgram(withTailCall(insns, mapFd)),
      license: 'GPL',
    }).fd;
    try {
      slots.update(key, value);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
    return {
      fd,
      close: () => {
        closeFd(fd);
        slots.close();
      },
    };
  } catch (err) {
    slots.close();
    throw err;
  }
}

/**
 * Every exit of the converted filter (r0 = its verdict, r6 = the socket buffer, as the conversion keeps
 * it) becomes a jump to: `if w0 == 0 goto drop; r1 = r6; r2 = map; r3 = 0; call bpf_tail_call; drop:
 * r0 = 0; exit`. A tail call that cannot be made (the slot empty) falls through to the drop.
 */
function withTailCall(insns: Instruction[], mapFd: number): Instruction[] {
  let end = 0;
  for (const i of insns) end = Math.max(end, i.pc + (i.code === OP_LDDW ? 2 : 1));
  const out = insns.map((i) =>
    i.code === (BPF_JMP | BPF_EXIT) ? { ...i, code: BPF_JMP | BPF_JA, off: end - i.pc - 1 } : i,
  );
  const tail: Instruction[] = [
    makeInsn({ code: BPF_JMP32 | BPF_JEQ | BPF_K, dst: 0, off: 5 }), // to the drop (lddw is two slots)
    makeInsn({ code: BPF_ALU64 | BPF_MOV | BPF_X, dst: 1, src: 6 }),
    makeInsn({ code: OP_LDDW, dst: 2, src: BPF_PSEUDO_MAP_FD, imm: mapFd }),
    makeInsn({ code: BPF_ALU64 | BPF_MOV | BPF_K, dst: 3, imm: 0 }),
    makeInsn({ code: BPF_JMP | BPF_CALL, imm: BPF_FUNC_TAIL_CALL }),
    makeInsn({ code: BPF_ALU64 | BPF_MOV | BPF_K, dst: 0, imm: 0 }),
    makeInsn({ code: BPF_JMP | BPF_EXIT }),
  ];
  let pc = end;
  for (const i of tail) {
    i.pc = pc;
    pc += i.code === OP_LDDW ? 2 : 1;
  }
  return [...out, ...tail];
}
