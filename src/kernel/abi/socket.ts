/**
 * recvmsg(2)'s structs on 64-bit Linux (include/linux/socket.h, uapi/linux/uio.h, time_types.h). The
 * kernel calls the userspace msghdr `struct user_msghdr`; its own `msghdr` is an internal type.
 */
import { bytes, i32, i64, layout, ptr, u16, u32, u64 } from './layout.js';

/** struct msghdr as userspace passes it to recvmsg(2). */
export const MSGHDR = layout({ struct: 'user_msghdr' }, 56, 'exact', {
  msg_name: ptr(0),
  msg_namelen: i32(8),
  msg_iov: ptr(16),
  msg_iovlen: u64(24),
  msg_control: ptr(32),
  msg_controllen: u64(40),
  msg_flags: u32(48),
});

/** struct iovec. */
export const IOVEC = layout({ struct: 'iovec' }, 16, 'exact', {
  iov_base: ptr(0),
  iov_len: u64(8),
});

/** struct cmsghdr: the head of each control message; its data starts at CMSG_ALIGN(size). */
export const CMSGHDR = layout({ struct: 'cmsghdr' }, 16, 'exact', {
  cmsg_len: u64(0),
  cmsg_level: i32(8),
  cmsg_type: i32(12),
});

/** struct timespec as SO_TIMESTAMPNS (SO_TIMESTAMPNS_OLD) delivers it on 64-bit hosts. */
export const OLD_TIMESPEC = layout({ struct: '__kernel_old_timespec' }, 16, 'exact', {
  tv_sec: i64(0),
  tv_nsec: i64(8),
});

/** struct sockaddr_un: an AF_UNIX address, the path NUL-terminated inside sun_path. */
export const SOCKADDR_UN = layout({ struct: 'sockaddr_un' }, 110, 'exact', {
  sun_family: u16(0),
  sun_path: bytes(2, 108),
});
