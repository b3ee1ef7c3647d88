import MailSender
import Testing

@testable import SendPlanning

/// The request a plan becomes carries the plan's greeting deadline whatever front end asks for it (the
/// composer's sends waited the whole step for a silent server on 465: only the CLI copied the deadline over).
@Suite struct PlannedRequestTests {
  @Test func theGreetingDeadlineGoesWithEveryRequest() throws {
    let plan = try ChannelPlan(
      overrides: ChannelOverrides(server: "mail.example.org:465", tls: "starttls"), account: nil)
    #expect(plan.greetingTimeout == 10)
    let fields = {
      var fields = MessageFields()
      fields.from = "a@example.org"
      fields.to = ["b@example.org"]
      fields.body = Array("hi\n".utf8)
      return fields
    }()
    let assembled = try MessageAssembly.assemble(fields, account: nil)
    #expect(plan.request(for: assembled, credentials: nil).greetingTimeout == .seconds(10))
    let check = plan.request(
      reversePath: "", recipients: [], message: MessageContent(bytes: []), credentials: nil)
    #expect(check.greetingTimeout == .seconds(10))

    let implicit = try ChannelPlan(overrides: ChannelOverrides(server: "mail.example.org:465"), account: nil)
    #expect(implicit.request(for: assembled, credentials: nil).greetingTimeout == nil)
  }
}
