#!/usr/bin/env python3
"""Traffic helpers for the sgnic VM tests (run inside a network namespace).

  recv PORT OUTFILE          accept one TCP connection, write what arrives
  send HOST PORT FILE        connect and send FILE
  udp-send HOST PORT N SIZE  send N datagrams of SIZE bytes (IPv4 or IPv6)
  capture IFACE N TIMEOUT STOPFILE
                             read up to N frames from IFACE with AF_PACKET (for
                             at most TIMEOUT s, or until STOPFILE exists and
                             0.5 s pass without a frame) and verify the IPv4 header and
                             TCP/UDP checksums of each, and that it fits the
                             MTU of IFACE; prints "frames=.. tcp=.. udp=..
                             bad=.. big=.." (and "capturing on IFACE" to stderr
                             once the socket is bound)
"""
import os
import socket
import struct
import sys
import time


def recv(port, path):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", int(port)))
    srv.listen(1)
    conn, _ = srv.accept()
    with open(path, "wb") as out:
        while True:
            data = conn.recv(1 << 20)
            if not data:
                break
            out.write(data)
    conn.close()


def connect(host, port):
    """The receiver may still be starting (python is slow under TCG): retry."""
    end = time.time() + 30
    while True:
        try:
            return socket.create_connection((host, int(port)), timeout=60)
        except ConnectionRefusedError:
            if time.time() > end:
                raise
            time.sleep(0.2)


def send(host, port, path):
    with connect(host, port) as s, open(path, "rb") as f:
        while True:
            data = f.read(1 << 20)
            if not data:
                break
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)


def udp_send(host, port, n, size):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        payload = bytes((i * 7) & 0xFF for i in range(int(size)))
        for _ in range(int(n)):
            s.sendto(payload, (host, int(port)))
            time.sleep(0.001)


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def check_frame(frame):
    """Returns (proto, ok) or None for frames that are not IP TCP/UDP."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if csum16(ip[:ihl]) != 0xFFFF:
            return ("ip", False)
        total = struct.unpack("!H", ip[2:4])[0]
        if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
            return None  # a fragment: the L4 checksum spans the datagram
        proto = ip[9]
        l4 = ip[ihl:total]
        pseudo = ip[12:20] + struct.pack("!BBH", 0, proto, len(l4))
    elif ethertype == 0x86DD:
        ip = frame[14:]
        plen = struct.unpack("!H", ip[4:6])[0]
        proto = ip[6]
        l4 = ip[40:40 + plen]
        pseudo = ip[8:40] + struct.pack("!IxxxB", len(l4), proto)
    else:
        return None
    if proto not in (6, 17):
        return None
    name = "tcp" if proto == 6 else "udp"
    if proto == 17 and l4[6:8] == b"\0\0":
        return (name, ethertype == 0x0800)  # IPv4 UDP may omit it
    return (name, csum16(pseudo + l4) == 0xFFFF)


def capture(iface, n, timeout, stopfile):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(0.5)
    print("capturing on %s" % iface, file=sys.stderr, flush=True)
    with open("/sys/class/net/%s/mtu" % iface) as f:
        longest = int(f.read()) + 14  # a wire frame: MTU plus the Ethernet header
    counts = {"frames": 0, "tcp": 0, "udp": 0, "bad": 0, "big": 0}
    end = time.time() + float(timeout)
    while counts["frames"] < int(n) and time.time() < end:
        try:
            frame, addr = s.recvfrom(65536)
        except socket.timeout:
            if os.path.exists(stopfile):
                break
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        res = check_frame(frame)
        if res is None:
            continue
        counts["frames"] += 1
        if len(frame) > longest:
            counts["big"] += 1
            print("frame of %d bytes, more than %d" % (len(frame), longest), file=sys.stderr)
        if res[0] in counts:
            counts[res[0]] += 1
        if not res[1]:
            counts["bad"] += 1
            print("bad %s checksum in frame of %d bytes" % (res[0], len(frame)), file=sys.stderr)
    print(" ".join("%s=%d" % kv for kv in counts.items()))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"recv": recv, "send": send, "udp-send": udp_send, "capture": capture}[cmd](*args)


if __name__ == "__main__":
    main()
