/**
 * The helpers the conformance suite's `call` tests assume: the uBPF / bpf_conformance test-helper
 * convention. Only `unwind` (5) is exercised by the shared tests (call_unwind_fail.data, callx.data:
 * `mov r1, -1; call 5` must go on and return 2, so unwind returns its argument and stops the program only
 * when that is 0); the others follow the same convention so programs written for uBPF's tests run too.
 *
 *   0 gather_bytes(a, b, c, d, e)  -> the low bytes of r1..r5 packed: a<<32 | b<<24 | c<<16 | d<<8 | e
 *   1 memfrob(ptr, len)            -> XORs each byte with 42 (like glibc memfrob), returns 0
 *   2 no_op()                      -> returns 0
 *   3 sqrti(x)                     -> floor(sqrt(x)) of the u32 argument
 *   4 strcmp_ext(a, b)             -> <0 / 0 / >0 like strcmp of two NUL-terminated strings
 *   5 unwind(x)                    -> returns x; when x is 0 the program stops at once with r0 = 0
 */
import type { HelperCall, HelperRegistry } from '../vm/helper-abi.js';

const MAX_STRING = 1 << 16;

export const TEST_HELPERS: readonly (readonly [number, string, (c: HelperCall) => void])[] = [
  [
    0,
    'gather_bytes',
    (c) => {
      const b = (i: number) => c.argU32(i) & 0xff;
      c.ret((b(2) << 24) | (b(3) << 16) | (b(4) << 8) | b(5) | 0, b(1));
    },
  ],
  [
    1,
    'memfrob',
    (c) => {
      const len = c.argNumber(2);
      if (len > 0) {
        const v = c.memory.view(c.argPtr(1), len, true, c.pc);
        for (let i = v.offset; i < v.offset + len; i++) v.bytes[i] = (v.bytes[i] as number) ^ 42;
      }
      c.ret(0);
    },
  ],
  [2, 'no_op', (c) => c.ret(0)],
  [3, 'sqrti', (c) => c.ret(Math.floor(Math.sqrt(c.argU32(1))))],
  [
    4,
    'strcmp_ext',
    (c) => {
      const a = c.memory.readCString(c.argPtr(1), MAX_STRING, c.pc);
      const b = c.memory.readCString(c.argPtr(2), MAX_STRING, c.pc);
      let r = 0;
      for (let i = 0; r === 0 && i <= Math.min(a.length, b.length); i++) r = (a[i] ?? 0) - (b[i] ?? 0);
      c.retI32(r);
    },
  ],
  [
    5,
    'unwind',
    (c) => {
      const lo = c.argI32(1);
      const hi = c.hi[1] as number;
      if (lo === 0 && hi === 0) c.stop(0);
      else c.ret(lo, hi);
    },
  ],
];

export function registerTestHelpers(helpers: HelperRegistry): void {
  helpers.registerAll(TEST_HELPERS);
}
