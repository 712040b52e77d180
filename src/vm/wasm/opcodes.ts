/**
 * The WebAssembly opcodes the eBPF compiler emits, by their names in the specification (`i64.add` is
 * I64_ADD), so the emitters never spell bare hex.
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
/** The empty block type. */
export const VOID = 0x40;

export const UNREACHABLE = 0x00;
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const IF = 0x04;
export const ELSE = 0x05;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
export const BR_TABLE = 0x0e;
export const RETURN = 0x0f;
export const CALL = 0x10;
export const DROP = 0x1a;
export const SELECT = 0x1b;

export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const GLOBAL_GET = 0x23;
export const GLOBAL_SET = 0x24;

export const I32_LOAD = 0x28;
export const I64_LOAD = 0x29;
export const I32_LOAD8_U = 0x2d;
export const I32_LOAD16_U = 0x2f;
export const I64_LOAD8_S = 0x30;
export const I64_LOAD8_U = 0x31;
export const I64_LOAD16_S = 0x32;
export const I64_LOAD16_U = 0x33;
export const I64_LOAD32_S = 0x34;
export const I64_LOAD32_U = 0x35;
export const I32_STORE = 0x36;
export const I64_STORE = 0x37;
export const I64_STORE8 = 0x3c;
export const I64_STORE16 = 0x3d;
export const I64_STORE32 = 0x3e;

export const I32_CONST = 0x41;
export const I64_CONST = 0x42;

export const I32_EQZ = 0x45;
export const I32_EQ = 0x46;
export const I32_NE = 0x47;
export const I32_LT_S = 0x48;
export const I32_LT_U = 0x49;
export const I32_GT_S = 0x4a;
export const I32_GT_U = 0x4b;
export const I32_LE_S = 0x4c;
export const I32_LE_U = 0x4d;
export const I32_GE_S = 0x4e;
export const I32_GE_U = 0x4f;
export const I64_EQZ = 0x50;
export const I64_EQ = 0x51;
export const I64_NE = 0x52;
export const I64_LT_S = 0x53;
export const I64_LT_U = 0x54;
export const I64_GT_S = 0x55;
export const I64_GT_U = 0x56;
export const I64_LE_S = 0x57;
export const I64_LE_U = 0x58;
export const I64_GE_S = 0x59;
export const I64_GE_U = 0x5a;

export const I32_ADD = 0x6a;
export const I32_SUB = 0x6b;
export const I32_MUL = 0x6c;
export const I32_DIV_S = 0x6d;
export const I32_DIV_U = 0x6e;
export const I32_REM_S = 0x6f;
export const I32_REM_U = 0x70;
export const I32_AND = 0x71;
export const I32_OR = 0x72;
export const I32_XOR = 0x73;
export const I32_SHL = 0x74;
export const I32_SHR_S = 0x75;
export const I32_SHR_U = 0x76;
export const I32_ROTL = 0x77;
export const I32_ROTR = 0x78;
export const I64_CTZ = 0x7a;
export const I64_ADD = 0x7c;
export const I64_SUB = 0x7d;
export const I64_MUL = 0x7e;
export const I64_DIV_S = 0x7f;
export const I64_DIV_U = 0x80;
export const I64_REM_S = 0x81;
export const I64_REM_U = 0x82;
export const I64_AND = 0x83;
export const I64_OR = 0x84;
export const I64_XOR = 0x85;
export const I64_SHL = 0x86;
export const I64_SHR_S = 0x87;
export const I64_SHR_U = 0x88;
export const I64_ROTL = 0x89;

export const I32_WRAP_I64 = 0xa7;
export const I64_EXTEND_I32_S = 0xac;
export const I64_EXTEND_I32_U = 0xad;
export const I64_TRUNC_F64_S = 0xb0;
export const I64_TRUNC_F64_U = 0xb1;
export const I64_REINTERPRET_F64 = 0xbd;
export const F64_REINTERPRET_I64 = 0xbf;
export const I32_EXTEND8_S = 0xc0;
export const I32_EXTEND16_S = 0xc1;
export const I64_EXTEND8_S = 0xc2;
export const I64_EXTEND16_S = 0xc3;
export const I64_EXTEND32_S = 0xc4;

// (tail calls: call_indirect's immediates are the type index, then the table index)
export const CALL_INDIRECT = 0x11;
export const RETURN_CALL_INDIRECT = 0x13;
