/**
 * The kernel's version number of a release string, as linux/version.h's KERNEL_VERSION makes it: the loader
 * gives it to LINUX_KERNEL_VERSION externs, BCC-dialect C gets it as LINUX_VERSION_CODE.
 */

/** KERNEL_VERSION(a, b, c) of a release string ("6.18.44-foo"), the sublevel capped at 255 as the kernel does. */
export function kernelVersionCode(release: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}
