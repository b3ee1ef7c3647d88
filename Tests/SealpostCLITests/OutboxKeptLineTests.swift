import SendPlanning
import Testing

@testable import sealpost

/// Red team: after a flush whose server was refused (a changed pinned key, 77), the entry's line said
/// "'sealpost outbox flush' sends it", but a bare flush skips a failed entry ("not resent unless named"). Each
/// state's line says what brings the entry back.
@Suite struct OutboxKeptLineTests {
  static func entry(_ state: OutboxEntry.State) -> OutboxEntry {
    OutboxEntry(
      id: "1796126400000-abc", route: .init(config: nil, account: "work", overrides: .init()),
      envelope: .init(reversePath: "a@example.org", recipients: ["b@example.org"]), size: 10, attempts: 1,
      lastError: nil, state: state, created: 0, updated: 0)
  }

  @Test(
    arguments: [
      (
        OutboxEntry.State.queued,
        "queued in the outbox as 1796126400000-abc: 'sealpost outbox flush' sends it"
      ),
      (
        .failed,
        "kept in the outbox as 1796126400000-abc, failed: it is not resent unless you say 'sealpost outbox flush "
          + "1796126400000-abc'"
      ),
      (
        .deliveryUnknown,
        "kept in the outbox as 1796126400000-abc, delivery unknown: it is not resent unless you say "
          + "'sealpost outbox flush --include-unknown 1796126400000-abc'"
      ),
    ])
  func eachStateSaysWhatSendsItAgain(state: OutboxEntry.State, line: String) {
    #expect(OutboxSend.keptLine(Self.entry(state)) == line)
  }
}
