/* The parts of the EROFS on-disk format the writer uses (uncompressed
 * images), as documented by the Linux kernel's fs/erofs/erofs_fs.h. All
 * fields are little-endian; structures are written field by field at
 * their byte offsets (put16/put32/put64), never as C structs. */
#ifndef STRATA_LAYER_EROFS_FMT_H
#define STRATA_LAYER_EROFS_FMT_H

#include <stdint.h>
#include <string.h>

#define EROFS_MAGIC 0xE0F5E1E2u
#define EROFS_SB_OFFSET 1024
#define EROFS_BLKBITS 12 /* a full image: 4 KiB blocks */
#define EROFS_BLK (1u << EROFS_BLKBITS)
#define EROFS_TAR_BLKBITS 9 /* a tar index: the tar's 512-byte grid */
#define EROFS_SLOT 32 /* inodes start on 32-byte slots; nid = offset / 32 */

/* superblock field offsets (128 bytes) */
#define SB_MAGIC 0
#define SB_BLKSZBITS 12
#define SB_ROOT_NID 14
#define SB_INOS 16
#define SB_BUILD_TIME 24
#define SB_BUILD_NSEC 32
#define SB_BLOCKS 36
#define SB_META_BLKADDR 40
#define SB_UUID 48
#define SB_VOLUME 64
#define SB_FEATURE_INCOMPAT 80
#define SB_EXTRA_DEVICES 86
#define SB_DEVT_SLOTOFF 88 /* the device table at this many 128-byte slots */
#define SB_SIZE 128

#define EROFS_FEATURE_INCOMPAT_CHUNKED_FILE 0x4u
#define EROFS_FEATURE_INCOMPAT_DEVICE_TABLE 0x8u

/* device slot (128 bytes): a tag (the path when none is given at mount),
 * the device's size in blocks, where it maps in the unified block space */
#define DEVT_SLOT_SIZE 128
#define DEVT_TAG 0
#define DEVT_TAG_LEN 64
#define DEVT_BLOCKS 64
#define DEVT_MAPPED_BLKADDR 68

/* i_format: bit 0 the inode version, bits 1-3 the data layout */
#define EROFS_INODE_COMPACT 0
#define EROFS_INODE_EXTENDED 1
#define EROFS_FLAT_PLAIN 0
#define EROFS_FLAT_INLINE 2
#define EROFS_CHUNK_BASED 4
/* i_u of a chunk-based inode: this flag (8-byte indexes naming a device)
 * with log2(chunk size / block size) in the low 5 bits */
#define EROFS_CHUNK_FORMAT_INDEXES 0x20u
/* chunk index (8 bytes): advise le16, device le16 (1: the first extra
 * device), block address le32 in that device */
#define CHUNK_INDEX_SIZE 8
#define EROFS_COMPACT_SIZE 32
#define EROFS_EXTENDED_SIZE 64

/* compact inode (32 bytes) */
#define IC_FORMAT 0
#define IC_XATTR_ICOUNT 2
#define IC_MODE 4
#define IC_NLINK 6
#define IC_SIZE 8
#define IC_MTIME 12 /* seconds after the superblock's build time */
#define IC_U 16     /* first block, or rdev */
#define IC_INO 20
#define IC_UID 24
#define IC_GID 26

/* extended inode (64 bytes) */
#define IE_FORMAT 0
#define IE_XATTR_ICOUNT 2
#define IE_MODE 4
#define IE_SIZE 8
#define IE_U 16
#define IE_INO 20
#define IE_UID 24
#define IE_GID 28
#define IE_MTIME 32
#define IE_MTIME_NSEC 40
#define IE_NLINK 44

/* directory entry (12 bytes): nid, name offset in the block, file type */
#define DIRENT_SIZE 12
#define EROFS_FT_UNKNOWN 0
#define EROFS_FT_REG 1
#define EROFS_FT_DIR 2
#define EROFS_FT_CHR 3
#define EROFS_FT_BLK 4
#define EROFS_FT_FIFO 5
#define EROFS_FT_SOCK 6
#define EROFS_FT_LNK 7

/* inline xattrs: a 12-byte body header, then 4-byte aligned entries of
 * (name length u8, prefix index u8, value size le16, name, value) */
#define XATTR_IBODY_HEADER 12
#define XATTR_ENTRY_HEADER 4
#define XATTR_INDEX_USER 1
#define XATTR_INDEX_ACL_ACCESS 2
#define XATTR_INDEX_ACL_DEFAULT 3
#define XATTR_INDEX_TRUSTED 4
#define XATTR_INDEX_SECURITY 6

static inline void put16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

static inline void put32(unsigned char *p, uint32_t v) {
  put16(p, (uint16_t)v);
  put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get16(const unsigned char *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const unsigned char *p) {
  return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

#endif
