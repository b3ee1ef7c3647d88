import MailSender

extension ChannelPlan {
  /// The request for this plan and an assembled message: the one place a front end's plan becomes what the
  /// core sends.
  public func request(
    for message: AssembledMessage, credentials: Credentials?, showData: Bool = false
  ) -> SendRequest {
    SendRequest(
      host: host, port: port, security: security, allowInsecure: allowInsecure, trust: trust,
      credentials: credentials, ehloName: ehlo, timeout: .milliseconds(Int64(timeout * 1000)),
      reversePath: message.reversePath, recipients: message.recipients, message: message.content,
      showData: showData)
  }
}
