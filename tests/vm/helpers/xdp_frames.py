"""send IFACE DST N MAX [flood]: N frames of type 0x88b5 from IFACE's MAC to
DST, sizes cycling 60 64 128 1000 MAX, frame i carrying i and a pattern of
i; paced (8 frames, 2 ms) unless flood (which waits out a full qdisc);
prints "sent=N bytes=B".
recv IFACE N TIMEOUT MODE SRC DST MAX: prints "capturing", then reads the
frames IFACE receives until N arrived (and 0.5 s more) or TIMEOUT s; each
must be what send sent from SRC to DST (MODE plain) or what xdp_mangle makes
of it (MODE mangle); prints "frames=.. bad=.. dup=..", "other=.." (frames
of other types) and the first bad frame."""
import errno
import socket
import struct
import sys
import time

T_SENT, T_MANGLED = 0x88B5, 0x88B6


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


PATTERN = bytes(range(256)) * 40


def frame(dst, src, seq, mx):
    size = (60, 64, 128, 1000, mx)[seq % 5]
    start = seq * 7 % 256
    body = struct.pack(">I", seq) + PATTERN[start:start + size - 18]
    return dst + src + struct.pack(">H", T_SENT) + body


def send(iface, dst, n, mx, flood):
    src = mac(open(f"/sys/class/net/{iface}/address").read().strip())
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    total = 0
    for i in range(n):
        f = frame(mac(dst), src, i % 100000, mx)
        while True:
            try:
                s.send(f)
                break
            except OSError as e:  # a full qdisc: only a flood waits
                if not flood or e.errno != errno.ENOBUFS:
                    raise
                time.sleep(0.001)
        total += len(f)
        if not flood and i % 8 == 7:
            time.sleep(0.002)
    print(f"sent={n} bytes={total}")


def recv(iface, n, timeout, mode, src, dst, mx):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
    s.bind((iface, 3))
    print("capturing", flush=True)
    seen, bad, dup, other, first_bad = set(), 0, 0, 0, ""
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if len(seen) + bad + dup >= n:
            left = min(left, 0.5)
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(65536)
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        etype = struct.unpack(">H", data[12:14])[0]
        if etype not in (T_SENT, T_MANGLED):
            other += 1
            continue
        off = 14 if mode == "plain" else 46
        seq = struct.unpack(">I", data[off:off + 4])[0] if len(data) >= off + 4 else -1
        ok = 0 <= seq < n
        if ok:
            orig = frame(mac(dst), mac(src), seq, mx)
            want = orig if mode == "plain" else \
                orig[:12] + struct.pack(">H", T_MANGLED) + b"\xa5" * 18 + orig + b"\x5a" * 16
            ok = data == want
        if not ok:
            bad += 1
            if not first_bad:
                first_bad = f"first bad frame: len {len(data)}: {data[:80].hex()}"
        elif seq in seen:
            dup += 1
        else:
            seen.add(seq)
    print(f"frames={len(seen)} bad={bad} dup={dup}")
    print(f"other={other}")
    if first_bad:
        print(first_bad)


if sys.argv[1] == "send":
    send(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:] == ["flood"])
else:
    a = sys.argv[2:]
    recv(a[0], int(a[1]), float(a[2]), a[3], a[4], a[5], int(a[6]))
