import ComposerCore
import CursesBackend
import Foundation
import SendPlanning

#if canImport(Glibc)
  import Glibc
#endif

/// The keystroke benchmark of the terminal composer (Tests/bench/composer-keys.sh runs it in a release build):
/// per key, the composer model's update, a render of the whole compose screen at 200×60 (title, header fields,
/// attachments, the body editor, status and key lines, in the default theme) and the diff against the previous
/// frame, with a 10,000-line body; then the bytes the curses backend writes to a pseudo-terminal for one typed
/// character.
///
/// Usage: ComposerBench [KEYS] [LINES]   (defaults 3000 and 10000)

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let keyCount = arguments.first ?? 3000
let lineCount = arguments.dropFirst().first ?? 10_000
let width = 200
let height = 60

/// SplitMix64: the same key sequence every run.
struct Generator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Typing most of the time, then arrows, page moves, Enter and deleting.
func keys(_ count: Int) -> [Key] {
  var generator = Generator(state: 42)
  let letters = Array("abcdefghijklmnopqrstuvwxyz    ,.漢字é")
  var out: [Key] = []
  for _ in 0..<count {
    switch generator.below(100) {
    case 0..<50: out.append(.character(letters[generator.below(letters.count)]))
    case 50..<60: out.append(.up)
    case 60..<70: out.append(.down)
    case 70..<75: out.append(.left)
    case 75..<80: out.append(.right)
    case 80..<83: out.append(.pageUp)
    case 83..<86: out.append(.pageDown)
    case 86..<89: out.append(.enter)
    case 89..<96: out.append(.backspace)
    default: out.append(.delete)
    }
  }
  return out
}

func body(lines: Int) -> String {
  (0..<lines).map { number in
    number % 7 == 3
      ? "line \(number): a longer paragraph line that wraps on a narrow screen, with words, "
        + String(repeating: "more words to fill it ", count: 12)
      : "line \(number) of a long body with some words in it"
  }.joined(separator: "\n")
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
  sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}

func microseconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

/// This thread's CPU time in microseconds: unlike the wall clock, it does not count the time the scheduler gave
/// other processes (the machine is shared).
func cpuMicroseconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
  return Double(time.tv_sec) * 1e6 + Double(time.tv_nsec) / 1e3
}

// MARK: - Time per keystroke

/// The real composer on its compose screen: one account, the cursor in the body, the body pasted in.
func composer(lines: Int) -> ComposerModel {
  let path = NSTemporaryDirectory() + "sealpost-bench-\(getpid()).conf"
  let config =
    "account bench\nhost mail.example.org\nport 465\ntls on\ntls_starttls off\nfrom b@example.org\n"
  FileManager.default.createFile(atPath: path, contents: Data(config.utf8))
  defer { try? FileManager.default.removeItem(atPath: path) }
  var model = ComposerModel(width: width, height: height, now: 1_796_126_400)
  _ = model.start()
  let catalog = Result(catching: { () throws(PlanningError) -> AccountCatalog in
    try AccountCatalog.load(explicit: path, environment: [:])
  })
  _ = model.update(.catalogLoaded(catalog))
  // The drafts offered at start: none.
  _ = model.update(.draftsListed(.success([])))
  guard model.screen == .compose else { fatalError("the bench's account did not open the compose screen") }
  for _ in 0..<4 { _ = model.update(.input(.key(.tab))) }
  _ = model.update(.input(.paste(body(lines: lines))))
  // From the middle of the body, so page moves go both ways.
  _ = model.update(.input(.key(Key(.home, .ctrl))))
  for _ in 0..<(lines / 2 / (height - 11)) { _ = model.update(.input(.key(.pageDown))) }
  return model
}

/// themes/default.theme on a 256-colour terminal.
func defaultTheme() -> Theme {
  guard let text = try? String(contentsOfFile: "themes/default.theme", encoding: .utf8),
    let file = try? ThemeFile(parsing: text, name: "default", file: "themes/default.theme")
  else { fatalError("run from the repository's top folder: themes/default.theme is needed") }
  return Theme(file, colors: .twoHundredFiftySix)
}

DisplayWidth.setProcessLocaleToUTF8()
var model = composer(lines: lineCount)
let theme = defaultTheme()
// Two buffers, swapped each frame (as ratatui does): the one drawn two frames ago is overwritten, never copied.
var previous = ScreenBuffer(width: width, height: height)
model.render(into: &previous, theme: theme)
var frame = previous
let clock = ContinuousClock()
var totals: [Double] = []
var updates: [Double] = []
var renders: [Double] = []
var diffs: [Double] = []
var changedCells = 0
var pageTotals: [Double] = []
var cpuTotals: [Double] = []
for key in keys(keyCount) {
  let cpuStart = cpuMicroseconds()
  let start = clock.now
  _ = model.update(.input(.key(key)))
  let updated = clock.now
  model.render(into: &frame, theme: theme)
  let rendered = clock.now
  let runs = frame.changes(since: previous)
  let end = clock.now
  cpuTotals.append(cpuMicroseconds() - cpuStart)
  for run in runs { changedCells += run.cells.count }
  swap(&previous, &frame)
  updates.append(microseconds(updated - start))
  renders.append(microseconds(rendered - updated))
  diffs.append(microseconds(end - rendered))
  totals.append(microseconds(end - start))
  if key == .pageUp || key == .pageDown { pageTotals.append(microseconds(end - start)) }
}
func line(_ name: String, _ values: [Double]) {
  let sorted = values.sorted()
  let mean = values.reduce(0, +) / Double(values.count)
  print(
    name + String(repeating: " ", count: max(0, 10 - name.count))
      + " p50 \(format(percentile(sorted, 0.5)))  p99 \(format(percentile(sorted, 0.99)))"
      + "  max \(format(sorted.last ?? 0))  mean \(format(mean)) µs")
}
func format(_ value: Double) -> String {
  let text = String(Int(value.rounded()))
  return String(repeating: " ", count: max(0, 6 - text.count)) + text
}
print(
  "keystrokes: \(keyCount) on the compose screen with a \(lineCount)-line body, \(width)×\(height) "
    + "(update + render + diff)")
line("key", totals)
line("key (CPU)", cpuTotals)
line("update", updates)
line("render", renders)
line("diff", diffs)
line("page keys", pageTotals)
print("cells changed per key (mean): \(changedCells / max(1, keyCount))")

// MARK: - Bytes written for one typed character

do {
  let pty = try PseudoTerminal(width: width, height: height)
  let terminal = try Terminal(
    terminalType: "xterm-256color", input: pty.terminal, output: pty.terminal, catchSignals: false)
  var typing = composer(lines: lineCount)
  var frame = ScreenBuffer(width: width, height: height)
  var cursor = typing.render(into: &frame, theme: theme)
  terminal.present(frame, cursor: cursor)
  let first = pty.readOutput().count
  /// Bytes written for each character of "hello, world" typed where the cursor is.
  func typed() -> [Int] {
    var counts: [Int] = []
    for character in "hello, world" {
      _ = typing.update(.input(.key(.character(character))))
      cursor = typing.render(into: &frame, theme: theme)
      terminal.present(frame, cursor: cursor)
      counts.append(pty.readOutput().count)
    }
    return counts.sorted()
  }
  // At the end of a line (composing), then at the start of one (the rest of the row moves right).
  _ = typing.update(.input(.key(.end)))
  let atEnd = typed()
  _ = typing.update(.input(.key(.down)))
  _ = typing.update(.input(.key(.home)))
  let atStart = typed()
  terminal.end()
  print(
    "bytes to the terminal: first frame \(first); one typed character at the end of a line: median "
      + "\(atEnd[atEnd.count / 2]), max \(atEnd.last ?? 0); at the start of a 45-character line: median "
      + "\(atStart[atStart.count / 2]), max \(atStart.last ?? 0)")
} catch {
  print("bytes to the terminal: not measured (\(error))")
}
