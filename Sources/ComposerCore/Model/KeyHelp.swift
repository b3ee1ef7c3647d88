/// One line of a screen's key table: the bottom line shows the `main` ones, the help overlay all of them.
struct KeyHelp: Sendable, Hashable {
  /// The keys as the README writes them ("Ctrl-X", "Tab", "↑ ↓ j k").
  var keys: String
  var action: String
  /// Shown on the bottom line, with the short form of the action.
  var main: Bool
  /// The bottom line's word for it ("review"), when it differs from `action`.
  var short: String?

  init(_ keys: String, _ action: String, main: Bool = false, short: String? = nil) {
    self.keys = keys
    self.action = action
    self.main = main
    self.short = short
  }

  /// "Ctrl-X review" on the bottom line: keys shortened the way terminals write them ("^X").
  var hint: String {
    let keyText = keys.replacing("Ctrl-", with: "^")
    return "\(keyText) \(short ?? action)"
  }
}
