import ComposerApp
import ComposerCore
import MailSender
import SMTPProtocol
import SMTPTransport

/// A test double of the composer model: keys map to effects as the test says, every message is kept, and the
/// screen shows a masked password field and the last lines of a log. It tests the runtime, not the model.
struct ScriptedProgram: ComposerProgram {
  var keys: [Key: [ComposerEffect]] = [:]
  var startEffects: [ComposerEffect] = []
  var messages: [ComposerMessage] = []
  var log: [String] = []
  var now: Int64 = 0
  /// The masked field: what was typed while a secret is asked for.
  var secret: [Character]?

  mutating func start() -> [ComposerEffect] { startEffects }

  mutating func update(_ message: ComposerMessage) -> [ComposerEffect] {
    messages.append(message)
    switch message {
    case .secretRequested(let prompt):
      secret = []
      log.append("asked: \(prompt)")
    case .input(.key(let key)):
      if secret != nil {
        if key == .enter, let typed = secret {
          secret = nil
          return [.answerSecret(Secret(Array(String(typed).utf8)))]
        }
        if key == .escape {
          secret = nil
          return [.answerSecret(nil)]
        }
        if let character = key.typedCharacter { secret?.append(character) }
        return []
      }
      return keys[key] ?? []
    case .sendFinished(let report):
      log.append("send: \(report.verdictLine)")
    case .probeFinished(let report):
      log.append("probe: \(report.verdictLine)")
    case .session(let event):
      if case .tls(.established(let summary), _) = event.payload {
        log.append("tls: \(summary.version) \(summary.cipher)")
      }
      if case .reply(let reply) = event.payload { log.append("reply: \(reply.code)") }
    case .pinRecorded(let result): log.append("pin: \(result)")
    case .accountCreated(let result): log.append("account: \(result)")
    case .transcriptSaved(let result): log.append("transcript: \(result)")
    case .editorFinished(let outcome): log.append("editor: \(outcome)")
    case .rawRendered(let order, let result):
      switch result {
      case .success(let raw): log.append("raw \(order): \(raw.lines.count) lines, \(raw.omittedLines) more")
      case .failure(let problem): log.append("raw \(order) failed: \(problem.message)")
      }
    case .catalogLoaded(let result, _):
      switch result {
      case .success(let catalog): log.append("accounts: \(catalog.config?.accounts.map(\.name) ?? [])")
      case .failure(let error): log.append("accounts failed: \(error.category)")
      }
    default:
      break
    }
    return []
  }

  func draw(theme: Theme, width: Int, height: Int) -> (screen: ScreenBuffer, cursor: (x: Int, y: Int)?) {
    var buffer = ScreenBuffer(width: width, height: height)
    if let secret {
      buffer.write("Password: " + String(repeating: "*", count: secret.count), x: 0, y: 0, style: .plain)
    }
    for (row, line) in log.suffix(height - 1).enumerated() {
      buffer.write(line, x: 0, y: row + 1, maxWidth: width, style: .plain)
    }
    return (buffer, nil)
  }

  /// The report of the last send.
  var lastSendReport: SendReport? {
    for message in messages.reversed() { if case .sendFinished(let report) = message { return report } }
    return nil
  }

  /// The last raw message rendered, with its order.
  var lastRaw: (order: Int, result: Result<RawMessage, ComposerProblem>)? {
    for message in messages.reversed() {
      if case .rawRendered(let order, let result) = message { return (order, result) }
    }
    return nil
  }

  /// The leaf of the last handshake.
  var lastLeaf: CertificateSummary? {
    for message in messages.reversed() {
      if case .session(let event) = message, case .tls(.established(let summary), _) = event.payload {
        return summary.chain.first
      }
    }
    return nil
  }
}
