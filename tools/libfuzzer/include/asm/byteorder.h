/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: byte order conversions for a little-endian host. */
#ifndef _WGSHIM_ASM_BYTEORDER_H
#define _WGSHIM_ASM_BYTEORDER_H

#include <linux/types.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the shim assumes a little-endian host"
#endif

#define cpu_to_be16(x)	((__be16)__builtin_bswap16(x))
#define be16_to_cpu(x)	((u16)__builtin_bswap16(x))
#define cpu_to_be32(x)	((__be32)__builtin_bswap32(x))
#define be32_to_cpu(x)	((u32)__builtin_bswap32(x))
#define cpu_to_be64(x)	((__be64)__builtin_bswap64(x))
#define be64_to_cpu(x)	((u64)__builtin_bswap64(x))
#define cpu_to_le16(x)	((__le16)(x))
#define le16_to_cpu(x)	((u16)(x))
#define cpu_to_le32(x)	((__le32)(x))
#define le32_to_cpu(x)	((u32)(x))
#define cpu_to_le64(x)	((__le64)(x))
#define le64_to_cpu(x)	((u64)(x))
#define htons(x)	cpu_to_be16(x)
#define ntohs(x)	be16_to_cpu(x)
#define htonl(x)	cpu_to_be32(x)
#define ntohl(x)	be32_to_cpu(x)

#endif
