#!/usr/bin/env python3
"""A local SMTP server over implicit TLS that takes every message and discards it (Tests/bench/throughput.sh).

    discard-smtp.py CERT KEY PORTFILE [--chunking]

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening), one connection at a time; offers
PIPELINING, 8BITMIME, SIZE and, with --chunking, CHUNKING. Message content is counted and thrown away as it
arrives (DATA up to the "\\r\\n.\\r\\n", BDAT by its size), so the server costs the same for every client.
"""
import socket
import ssl
import sys


def serve(conn):
    buffer = bytearray()
    chunk = bytearray(1 << 20)
    view = memoryview(chunk)

    def fill():
        count = conn.recv_into(view)
        if count == 0:
            raise EOFError
        buffer.extend(view[:count])

    def line():
        while True:
            end = buffer.find(b"\r\n")
            if end >= 0:
                text = bytes(buffer[:end])
                del buffer[: end + 2]
                return text
            fill()

    def reply(text):
        conn.sendall(text.encode() + b"\r\n")

    reply("220 discard.test ESMTP")
    pending = []
    chunked = 0
    while True:
        # Replies to pipelined commands go out together, once the client's input is used up.
        if not buffer and pending:
            conn.sendall(b"".join(pending))
            pending = []
        command = line()
        verb = command.split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"HELO"):
            keywords = ["discard.test", "PIPELINING", "8BITMIME", "SIZE 1073741824"]
            if CHUNKING:
                keywords.append("CHUNKING")
            pending.append(("".join(
                f"250{'-' if i < len(keywords) - 1 else ' '}{k}\r\n" for i, k in enumerate(keywords))).encode())
        elif verb == b"DATA":
            conn.sendall(b"".join(pending) + b"354 go ahead\r\n")
            pending = []
            received = 0
            first = True
            # Keep only what may hold the start of the end of data indicator across reads.
            while True:
                while first and len(buffer) < 3:
                    fill()
                empty = first and buffer.startswith(b".\r\n")
                first = False
                end = buffer.find(b"\r\n.\r\n")
                if end >= 0 or empty:
                    cut = 3 if empty else end + 5
                    received += cut
                    del buffer[:cut]
                    break
                keep = min(len(buffer), 4)
                received += len(buffer) - keep
                del buffer[: len(buffer) - keep]
                fill()
            pending.append(f"250 2.0.0 discarded {received} octets\r\n".encode())
        elif verb == b"BDAT":
            parts = command.split()
            size = int(parts[1])
            chunked += size
            while size > 0:
                if not buffer:
                    fill()
                taken = min(size, len(buffer))
                del buffer[:taken]
                size -= taken
            if len(parts) > 2 and parts[2].upper() == b"LAST":
                pending.append(f"250 2.0.0 discarded {chunked} octets\r\n".encode())
                chunked = 0
            else:
                pending.append(b"250 2.0.0 chunk discarded\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"".join(pending) + b"221 2.0.0 bye\r\n")
            return
        else:
            pending.append(b"250 2.0.0 ok\r\n")


CHUNKING = "--chunking" in sys.argv[4:]


def main():
    cert, key, portfile = sys.argv[1:4]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    with open(portfile, "w") as f:
        f.write(str(listener.getsockname()[1]))
    while True:
        raw, _ = listener.accept()
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                serve(conn)
        except (EOFError, ConnectionError, ssl.SSLError, OSError):
            pass


if __name__ == "__main__":
    main()
