#!/usr/bin/env python3
"""Kernel BTF out of an x86 bzImage, with the Python standard library only.

The reference for `corebpf btf extract` in bench/vm/run.sh: parse the setup header, decompress
the payload (gzip, xz or lzma), find the .BTF section of the ELF vmlinux inside and write it.

    extract.py BZIMAGE OUT
"""
import lzma
import struct
import sys
import zlib


def payload(image):
    if image[0x202:0x206] != b"HdrS" or struct.unpack_from("<H", image, 0x1FE)[0] != 0xAA55:
        sys.exit("not a bzImage")
    setup_sects = image[0x1F1] or 4
    off, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + off
    data = image[start : start + length]
    if len(data) != length:
        sys.exit("truncated payload")
    return data


def decompress(data):
    if data.startswith(b"\xfd7zXZ\x00"):
        # One xz stream; the kernel's appended size word is left as unused data.
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if data.startswith(b"\x5d\x00\x00"):
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
    if data.startswith(b"\x1f\x8b"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    sys.exit("unsupported payload compression")


def btf_section(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        sys.exit("payload is not a little-endian ELF64 file")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def header(i):
        return struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize)

    strtab = header(shstrndx)
    names = elf[strtab[4] : strtab[4] + strtab[5]]
    for i in range(shnum):
        h = header(i)
        name = names[h[0] : names.index(b"\0", h[0])]
        if name == b".BTF":
            return elf[h[4] : h[4] + h[5]]
    sys.exit("no .BTF section")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        image = f.read()
    btf = btf_section(decompress(payload(image)))
    if btf[:2] != b"\x9f\xeb":
        sys.exit(".BTF section does not start with the BTF magic")
    with open(sys.argv[2], "wb") as f:
        f.write(btf)


if __name__ == "__main__":
    main()
