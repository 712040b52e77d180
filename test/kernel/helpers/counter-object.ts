/** An object with one counting program per hook: each bumps counts[slot] and returns `ret`. */
import type { ObjectSpec, ProgramSpec } from '../../../src/elf/spec.js';
import { MapType, ProgType, AttachType } from '../../../src/uapi/types.js';
import {
  Helper,
  alu64Imm,
  atomicAdd64,
  call,
  exit,
  jmpImm,
  label,
  lddw,
  mov64Imm,
  mov64Reg,
  op,
  prog,
  st,
  to,
} from './insns.js';

function counter(name: string, type: number, slot: number, ret: number, attachType?: number): ProgramSpec {
  const insns = prog(
    st(op.BPF_W, 10, -4, slot),
    lddw(1, 0),
    mov64Reg(2, 10),
    alu64Imm(op.BPF_ADD, 2, -4),
    call(Helper.map_lookup_elem),
    to(jmpImm(op.BPF_JEQ, 0, 0, 0), 'out'),
    mov64Imm(1, 1),
    atomicAdd64(0, 1, 0),
    label('out'),
    mov64Imm(0, ret),
    exit(),
  );
  return {
    name,
    section: name,
    type,
    insns,
    mapRefs: [{ pc: insns[1]!.pc, map: 'counts', kind: 'fd', offset: 0 }],
    license: 'GPL',
    kernelVersion: 0,
    ...(attachType !== undefined ? { attachType } : {}),
  };
}

export function counterObject(): ObjectSpec {
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [
      {
        name: 'counts',
        type: MapType.ARRAY,
        keySize: 4,
        valueSize: 8,
        maxEntries: 4,
        flags: 0,
        pinning: 'none',
        contents: [],
        frozen: false,
        section: '.maps',
        btfKeyTypeId: 0,
        btfValueTypeId: 0,
      },
    ],
    programs: [
      counter('tc_in', ProgType.SCHED_CLS, 0, 0, AttachType.TCX_INGRESS), // TCX_PASS
      counter('tc_out', ProgType.SCHED_CLS, 1, 0, AttachType.TCX_EGRESS),
      counter('xdp_count', ProgType.XDP, 2, 2, AttachType.XDP), // XDP_PASS
    ],
  };
}
