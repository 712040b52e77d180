/**
 * The helper id a CO-RE relocation that cannot be applied leaves in its instruction, as libbpf does
 * ("bad relo"): a program reaching it fails at that pc. Its own file so that the VM, which must recognise
 * the id, does not load the relocation code (and the BTF reader under it) to learn one number.
 */

/** The helper id libbpf writes into poisoned instructions ("bad relo"); the kernel says "invalid func unknown#195896080". */
export const CORE_POISON_HELPER = 0xbad2310;
