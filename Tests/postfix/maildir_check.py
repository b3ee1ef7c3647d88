#!/usr/bin/python3
"""Reads back what Postfix delivered into a Maildir with Python's own `email` package (policy.default) and
compares it with what was sent. A parser nobody on the project wrote: if sealpost's encoding is off, this is
where it shows.

  maildir_check.py count BOX...
      prints the number of messages in the Maildirs (new/ and cur/ together)
  maildir_check.py composed BOX --address A --from A --to A [--to B…] --subject S --body FILE
      BOX holds exactly one message, built by `sealpost send` from flags: headers, decoded body, encoding
  maildir_check.py attachments BOX --address A --from MAILBOX --to MAILBOX [--to …] --subject S --body FILE
                   --attach FILE [--attach …]
      BOX holds exactly one message built by `sealpost send --attach`: multipart/mixed, headers decoding to the
      text given (display names included), the text part equal to the body, each attachment byte for byte
      with its file name, in order
  maildir_check.py supplied BOX --address A --original FILE [--absent TEXT…]
      BOX holds exactly one message, sent with `sealpost send --message`: the original header block (without
      Bcc) is the delivered one minus the trace fields Postfix adds, in order; the body is unchanged

Every check prints "ok: …" or "FAIL: …"; the exit status is 1 when any check failed.
"""

import argparse
import email
import email.policy
import email.utils
import os
import re
import sys

failures = 0


def check(condition, what, detail=""):
    global failures
    if condition:
        print(f"  ok: {what}")
    else:
        failures += 1
        print(f"  FAIL: {what}" + (f"\n        {detail}" if detail else ""))
    return condition


def messages(box):
    """The files in BOX/new and BOX/cur."""
    found = []
    for sub in ("new", "cur"):
        folder = os.path.join(box, sub)
        found += [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
    return found


def parse(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)


def lf(data):
    """Line endings normalised to LF (Maildir files use LF; what was sent may use CRLF)."""
    return data.replace(b"\r\n", b"\n") if isinstance(data, bytes) else data.replace("\r\n", "\n")


def split_raw(data):
    """The raw header block and body of a message file, with LF line endings."""
    data = lf(data)
    head, sep, body = data.partition(b"\n\n")
    return head, body if sep else b""


def check_defects(msg, label):
    """Every part and every header of every part parsed without defects."""
    found = []
    for number, part in enumerate(msg.walk()):
        if not part.is_multipart():
            part.get_payload(decode=True)  # transfer-encoding defects are only found (and recorded) on decoding
        found += [f"part {number}: {type(d).__name__}: {d}" for d in part.defects]
        for name, value in part.items():
            found += [f"part {number} header {name}: {type(d).__name__}: {d}" for d in getattr(value, "defects", ())]
    check(not found, f"{label}: no defects in any part or header", "; ".join(found))


def the_one_message(box):
    found = messages(box)
    if not check(len(found) == 1, f"{box}: exactly one message", f"found {len(found)}: {found}"):
        sys.exit(1)
    return found[0]


def check_common(msg, raw, address):
    check(msg["Delivered-To"] == address, f"Delivered-To is {address}", f"got {msg['Delivered-To']!r}")
    check("Bcc" not in msg, "no Bcc header", f"got {msg.get_all('Bcc')!r}")
    long_lines = [n + 1 for n, line in enumerate(lf(raw).split(b"\n")) if len(line) > 998]
    check(not long_lines, "no line over 998 octets (RFC 5322 §2.1.1)", f"lines {long_lines}")
    check(b"\x00" not in raw, "no NUL byte")


def composed(args):
    path = the_one_message(args.box)
    with open(path, "rb") as f:
        raw = f.read()
    msg = parse(path)
    check_defects(msg, os.path.basename(path))
    check_common(msg, raw, args.address)

    check(str(msg["Subject"]) == args.subject, f"Subject decodes to {args.subject!r}", f"got {str(msg['Subject'])!r}")
    sent_from = [a.addr_spec for a in msg["From"].addresses] if msg["From"] else []
    check(sent_from == [args.sender], f"From is {args.sender}", f"got {sent_from}")
    sent_to = [a.addr_spec for a in msg["To"].addresses] if msg["To"] else []
    check(sent_to == args.to, f"To is {', '.join(args.to)}, in order", f"got {sent_to}")
    check("Cc" not in msg, "no Cc header")
    date = msg["Date"]
    check(date is not None and date.datetime is not None, "Date present and valid", f"got {date!r}")
    mid = msg["Message-ID"]
    check(mid is not None and re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(mid)) is not None,
          "Message-ID present, <left@right>", f"got {mid!r}")
    check(msg["MIME-Version"] == "1.0", "MIME-Version 1.0", f"got {msg['MIME-Version']!r}")

    check(not msg.is_multipart() and msg.get_content_type() == "text/plain", "a single text/plain part",
          f"got {msg.get_content_type()}")
    check(msg.get_content_charset() == "utf-8", "charset utf-8", f"got {msg.get_content_charset()!r}")
    check(msg["Content-Transfer-Encoding"] == "quoted-printable",
          "Content-Transfer-Encoding quoted-printable (the body has a 1200-character line)",
          f"got {msg['Content-Transfer-Encoding']!r}")

    with open(args.body, "rb") as f:
        expected = lf(f.read().decode("utf-8"))
    got = lf(msg.get_content())
    check(got == expected, "decoded body equals the body sent, character for character", first_difference(expected, got))


def mailbox(text):
    """(display name, address) of 'Name <a@b>' or 'a@b', as given on the command line (UTF-8, not encoded)."""
    name, address = email.utils.parseaddr(text)
    return name, address


def attachments(args):
    path = the_one_message(args.box)
    with open(path, "rb") as f:
        raw = f.read()
    msg = parse(path)
    check_defects(msg, os.path.basename(path))
    check_common(msg, raw, args.address)

    check(str(msg["Subject"]) == args.subject, f"Subject decodes to {args.subject!r}", f"got {str(msg['Subject'])!r}")
    for field, wanted in (("From", [args.sender]), ("To", args.to)):
        want = [mailbox(text) for text in wanted]
        got = [(a.display_name, a.addr_spec) for a in msg[field].addresses] if msg[field] else []
        check(got == want, f"{field} decodes to {want} (display names included)", f"got {got}")
    check(msg.get_content_type() == "multipart/mixed", "multipart/mixed", f"got {msg.get_content_type()}")
    parts = [part for part in msg.walk() if not part.is_multipart()]
    check(len(parts) == 1 + len(args.attach), f"{1 + len(args.attach)} parts: the text and each attachment",
          f"got {len(parts)}")
    if not parts:
        return
    text = parts[0]
    check(text.get_content_type() == "text/plain" and text.get_filename() is None, "the first part is the text",
          f"got {text.get_content_type()} {text.get_filename()!r}")
    with open(args.body, "rb") as f:
        expected = lf(f.read().decode("utf-8"))
    got = lf(text.get_content())
    check(got == expected, "the text part decodes to the body sent, character for character",
          first_difference(expected, got))
    for part, attached in zip(parts[1:], args.attach):
        name = os.path.basename(attached)
        check(part.get_filename() == name, f"file name {name!r}", f"got {part.get_filename()!r}")
        check(part.get_content_disposition() == "attachment", f"{name!r}: Content-Disposition attachment")
        with open(attached, "rb") as f:
            want = f.read()
        got = part.get_payload(decode=True)
        check(got == want, f"{name!r}: {len(want)} octets, byte for byte", first_difference(want, got))


def supplied(args):
    path = the_one_message(args.box)
    with open(path, "rb") as f:
        raw = f.read()
    with open(args.original, "rb") as f:
        original_raw = f.read()
    msg = parse(path)
    original = parse(args.original)
    check_defects(original, "the original (test input)")
    check_defects(msg, os.path.basename(path))
    check_common(msg, raw, args.address)

    # Header fields as (name, raw value) in order; values with LF endings (the folding is kept as written).
    def fields(m):
        return [(name.lower(), lf(value)) for name, value in m.raw_items()]

    expected = [f for f in fields(original) if f[0] not in ("bcc", "resent-bcc")]
    delivered = fields(msg)
    # Postfix puts its trace fields on top: the original block must be exactly the rest, in order.
    trace = {"return-path", "delivered-to", "received", "x-original-to"}
    added = 0
    while added < len(delivered) and delivered[added][0] in trace:
        added += 1
    check(added >= 3, "Postfix's trace fields on top (Return-Path, Delivered-To, Received)",
          f"got {[n for n, _ in delivered[:added]]}")
    rest = delivered[added:]
    check(rest == expected, "the original header block minus Bcc, field for field, in order",
          "\n        ".join(f"{'=' if a == b else '≠'} sent {a!r} / delivered {b!r}"
                             for a, b in zip(expected + [None] * (len(rest) - len(expected)),
                                             rest + [None] * (len(expected) - len(rest)))))
    raw_head, raw_body = split_raw(raw)
    for text in args.absent:
        check(text.encode() not in raw_head, f"{text!r} nowhere in the delivered header")

    _, original_body = split_raw(original_raw)
    check(raw_body == original_body, "raw body equals the original octet for octet (LF endings)",
          first_difference(original_body, raw_body))
    got, want = lf(msg.get_content()), lf(original.get_content())
    check(got == want, "decoded body equals the original's decoded body", first_difference(want, got))


def first_difference(a, b):
    if a == b:
        return ""
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"lengths {len(a)} / {len(b)}; first difference at {n}: sent {a[max(0, n - 20):n + 20]!r}, got {b[max(0, n - 20):n + 20]!r}"


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("count")
    p.add_argument("boxes", nargs="+")
    p = sub.add_parser("composed")
    p.add_argument("box")
    p.add_argument("--address", required=True)
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--body", required=True)
    p = sub.add_parser("attachments")
    p.add_argument("box")
    p.add_argument("--address", required=True)
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--attach", action="append", required=True)
    p = sub.add_parser("supplied")
    p.add_argument("box")
    p.add_argument("--address", required=True)
    p.add_argument("--original", required=True)
    p.add_argument("--absent", action="append", default=[])
    args = parser.parse_args()
    if args.command == "count":
        print(sum(len(messages(box)) for box in args.boxes))
        return 0
    print(f"{args.command} {args.box}:")
    {"composed": composed, "attachments": attachments, "supplied": supplied}[args.command](args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
