import CWCWidth

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What one terminal cell shows: a spacing character and the zero-width characters that ride on it, or a
/// character of an escape. `width` is 1 or 2 columns.
public struct Glyph: Sendable, Hashable {
  public var text: String
  public var width: Int

  public init(text: String, width: Int) {
    self.text = text
    self.width = width
  }
}

/// Display width as ncurses counts it (DESIGN §7): `wcwidth` in a UTF-8 locale, scalar by scalar, with no
/// width table of our own.
///
/// A grapheme cluster is cut into glyphs the way ncurses fills cells: each scalar `wcwidth` calls spacing
/// (1 or 2 columns) starts a cell, and the zero-width scalars after it (combining marks, ZWJ, variation
/// selectors) ride on that cell, at most ``maximumZeroWidthPerCell`` of them (ncurses' `CCHARW_MAX` is 5
/// characters a cell; more are dropped from the display, never from the text). So `é` written as e + U+0301
/// is 1 column, `漢` and `👍` are 2.
///
/// Never written raw (DESIGN §3.6, as `UntrustedText` escapes them): C0 and C1 controls, DEL, the bidi
/// controls U+202A–202E and U+2066–2069, every scalar `wcwidth` calls non-printable (-1), and a zero-width
/// scalar that has no spacing character to ride on and is not a combining mark (a lone ZWJ, U+200B, U+FEFF…).
/// These show as `\u{XXXX}`, one column per character of the escape. A combining mark with no base is shown
/// on U+25CC DOTTED CIRCLE, as fonts do.
///
/// Where terminals disagree (the counts here are ncurses' and glibc's; a terminal that counts otherwise
/// misplaces the rest of that row until the next redraw of it):
/// - Emoji ZWJ sequences (👩‍💻 = 👩 ZWJ 💻): counted as the sum of their parts (4 columns); terminals that join
///   them (tmux 3.3, kitty, WezTerm, foot, iTerm2) draw 2. So the joiner is never drawn: the parts show side
///   by side, in the columns counted here, on every terminal (``isJoinerOrSelector(_:)``).
/// - Flags (two regional indicators, 🇫🇷): glibc counts 1 + 1; most terminals draw one 2-column flag, which
///   happens to agree; some draw two letters of 1 column.
/// - VS16 (U+FE0F, emoji presentation: ❤️ = U+2764 U+FE0F): glibc counts the base (1 column) and the selector 0;
///   many terminals draw a 2-column emoji. So the selector is not drawn either: the base shows as text.
/// - Ambiguous-width characters (East Asian Width "A", such as ①, →) are 1 column here; CJK terminals set to
///   "ambiguous = wide" draw 2.
///
/// Precondition: the C library has the `C.UTF-8` locale (glibc ≥ 2.35 always does; it is the only UTF-8
/// locale on this project's machines). The width functions use that locale on the calling thread for the
/// duration of a call (`uselocale`), so they do not depend on the process locale, which other code (and
/// tests running in parallel) may change; the curses backend must still set the process locale to a UTF-8
/// one (`setlocale(LC_CTYPE, "C.UTF-8")`) before `newterm`, so that ncurses counts with the same table. Without
/// a UTF-8 locale every non-ASCII scalar is non-printable to `wcwidth` and shows as an escape: safe, never
/// garbage.
public enum DisplayWidth {
  /// Zero-width scalars kept on one cell: ncurses' `CCHARW_MAX` (5) minus the spacing character.
  public static let maximumZeroWidthPerCell = 4

  /// The columns `character` takes.
  public static func width(of character: Character) -> Int {
    withUTF8Locale { columns(of: character) }
  }

  /// The columns `text` takes (tabs count as escapes here; the editors lay tabs out themselves).
  public static func width(of text: some StringProtocol) -> Int {
    withUTF8Locale {
      var total = 0
      for character in text { total += columns(of: character) }
      return total
    }
  }

  /// The cells `character` fills, in order.
  public static func glyphs(of character: Character) -> [Glyph] {
    withUTF8Locale {
      var out: [Glyph] = []
      appendGlyphs(of: character, to: &out)
      return out
    }
  }

  /// The cells `text` fills, in order.
  public static func glyphs(of text: some StringProtocol) -> [Glyph] {
    withUTF8Locale {
      var out: [Glyph] = []
      for character in text { appendGlyphs(of: character, to: &out) }
      return out
    }
  }

  /// Whether the `C.UTF-8` locale this type counts with could be loaded.
  public static var hasUTF8Locale: Bool { utf8Locale.value != nil }

  /// `setlocale(LC_CTYPE, "C.UTF-8")` for the process, as the curses backend and the tests must call before
  /// anything is drawn; returns whether it took.
  @discardableResult
  public static func setProcessLocaleToUTF8() -> Bool {
    setlocale(LC_CTYPE, "C.UTF-8") != nil
  }

  // MARK: - Counting (call inside withUTF8Locale)

  static func columns(of character: Character) -> Int {
    // ASCII printable: the common case, one column, no call.
    if character.utf8.count == 1, let byte = character.utf8.first, byte >= 0x20, byte < 0x7F { return 1 }
    var total = 0
    var hasBase = false
    for scalar in character.unicodeScalars {
      switch classify(scalar) {
      case .escape: total += escapeWidth(scalar); hasBase = false
      case .spacing(let width): total += width; hasBase = true
      case .zeroWidth:
        if !hasBase {
          if isCombiningMark(scalar) {
            total += 1
            hasBase = true
          } else {
            total += escapeWidth(scalar)
          }
        }
      }
    }
    return total
  }

  static func appendGlyphs(of character: Character, to out: inout [Glyph]) {
    if character.utf8.count == 1, let byte = character.utf8.first, byte >= 0x20, byte < 0x7F {
      out.append(Glyph(text: String(character), width: 1))
      return
    }
    var current: (text: String, width: Int, riders: Int)?
    func flush() {
      if let glyph = current { out.append(Glyph(text: glyph.text, width: glyph.width)) }
      current = nil
    }
    for scalar in character.unicodeScalars {
      switch classify(scalar) {
      case .escape:
        flush()
        for byte in escape(scalar).utf8 { out.append(Glyph(text: String(UnicodeScalar(byte)), width: 1)) }
      case .spacing(let width):
        flush()
        current = (String(scalar), width, 0)
      case .zeroWidth:
        if var glyph = current {
          // Not drawn: the joiner and the presentation selectors (see ``isJoinerOrSelector(_:)``).
          if isJoinerOrSelector(scalar) { continue }
          if glyph.riders < maximumZeroWidthPerCell {
            glyph.text.unicodeScalars.append(scalar)
            glyph.riders += 1
            current = glyph
          }
        } else if isCombiningMark(scalar) {
          current = ("\u{25CC}" + String(scalar), 1, 1)
        } else {
          for byte in escape(scalar).utf8 { out.append(Glyph(text: String(UnicodeScalar(byte)), width: 1)) }
        }
      }
    }
    flush()
  }

  enum Kind: Equatable {
    case escape
    case spacing(Int)
    case zeroWidth
  }

  /// C0 and C1 controls, DEL and the bidi controls: escaped whatever the locale (DESIGN §3.6).
  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value)
      || (0x2066...0x2069).contains(value)
  }

  /// Call inside ``withUTF8Locale(_:)``: `wcwidth` counts in the thread's locale.
  static func classify(_ scalar: Unicode.Scalar) -> Kind {
    if isControl(scalar) { return .escape }
    let width = Int(sealpost_wcwidth(scalar.value))
    switch width {
    case 1, 2: return .spacing(width)
    case 0: return .zeroWidth
    default: return .escape
    }
  }

  /// U+200D ZERO WIDTH JOINER and the variation selectors U+FE0E, U+FE0F (text, emoji presentation): zero
  /// columns to `wcwidth`, and kept in the text, but never drawn on a cell. A terminal that sees them joins
  /// or widens what they touch and counts otherwise than ncurses (tmux 3.3 draws 👩‍💻 in 2 columns where
  /// ncurses counts 4, kitty and WezTerm draw ❤️ in 2 where ncurses counts 1), so the rest of the row lands
  /// in other columns than the screen buffer's and cells of the frame before stay on screen. Without them
  /// every terminal draws each part at the width `wcwidth` gives it: 👩 and 💻 side by side, ❤ as text.
  /// Found driving the composer in tmux: a subject holding 👨‍👩‍👧 left old cells at the end of its row.
  static func isJoinerOrSelector(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value == 0x200D || scalar.value == 0xFE0E || scalar.value == 0xFE0F
  }

  static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: return true
    default: return false
    }
  }

  /// `\u{XXXX}`, as `UntrustedText` shows an unsafe scalar.
  static func escape(_ scalar: Unicode.Scalar) -> String {
    let digits = String(scalar.value, radix: 16, uppercase: true)
    return "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
  }

  static func escapeWidth(_ scalar: Unicode.Scalar) -> Int { escape(scalar).utf8.count }

  // MARK: - The locale

  /// A `locale_t` handle; `newlocale` returns a pointer on glibc and an opaque pointer elsewhere.
  struct LocaleHandle: @unchecked Sendable {
    let value: locale_t?
  }

  /// Loaded once; never freed (it lives as long as the process).
  static let utf8Locale = LocaleHandle(value: newlocale(Int32(LC_CTYPE_MASK), "C.UTF-8", nil))

  /// Runs `body` with `C.UTF-8` as the calling thread's locale, then puts the thread's locale back.
  static func withUTF8Locale<T>(_ body: () -> T) -> T {
    guard let locale = utf8Locale.value else { return body() }
    let previous = uselocale(locale)
    defer { uselocale(previous) }
    return body()
  }
}
