import Foundation
import MailSenderTesting
import Testing

/// Red team: the pin file's other findings as the CLI shows them.
@Suite struct RecordedPinFileCLITests {
  /// A pin file that is a symbolic link leading nowhere stops a probe and a send with 78 naming the file; it
  /// is not "no pin file", for which the CA check would be used in place of the pins recorded.
  @Test func aDanglingPinFileLinkIs78NamingTheFile() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let pins = sandbox.xdg + "/sealpost/pins"
    try sandbox.write("", to: sandbox.xdg + "/sealpost/other")
    try FileManager.default.createSymbolicLink(
      atPath: pins, withDestinationPath: sandbox.xdg + "/sealpost/gone")
    for arguments in [
      ["probe", "localhost:1", "--tls", "implicit", "--timeout", "5"],
      [
        "send", "--server", "localhost:1", "--tls", "implicit", "--from", "a@example.test", "--to",
        "b@example.test", "--subject", "s", "--body", "b", "--transcript", "none",
      ],
    ] {
      let result = try CLIRunner.run(arguments, environment: sandbox.environment)
      #expect(result.status == 78, "\(arguments[0]): \(result.stderr)")
      #expect(
        result.stderr.contains(
          "\(pins): cannot read the pin file: No such file or directory (it is a symbolic "),
        "\(result.stderr)")
    }
  }

  /// DESIGN §6: `accounts` shows the pin file: how many pins it holds, none, or why it cannot be read.
  @Test func accountsShowsThePinFile() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    try sandbox.write(
      "account a\nhost mail.example.org\nfrom a@example.org\n", to: sandbox.home + "/.msmtprc")
    let pins = sandbox.xdg + "/sealpost/pins"
    let none = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(none.status == 0, "\(none.stderr)")
    #expect(none.stdout.hasSuffix("\nrecorded pins: no recorded pins (\(pins))\n"), "\(none.stdout)")

    let pin = "sha256/" + Data(repeating: 7, count: 32).base64EncodedString()
    try sandbox.write("# one\nmail.example.org:465 \(pin)\r\n# two\r\n[::1]:587 \(pin)\r\n", to: pins)
    let two = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(two.status == 0, "\(two.stderr)")
    #expect(two.stdout.hasSuffix("\nrecorded pins: 2 in \(pins)\n"), "\(two.stdout)")

    try sandbox.write("# c\r\nGARBAGE LINE\r\n", to: pins)
    let broken = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(broken.status == 0, "the listing still lists: \(broken.stderr)")
    #expect(
      broken.stdout.hasSuffix(
        "\nrecorded pins: unusable: \(pins):2: the host has no port (HOST:PORT)\n"), "\(broken.stdout)")
  }

  /// A probe given --ca-file that does not verify the server is not told to give a CA file: it did.
  @Test func aFailedCAFileIsNotSentBackToTheCAFile() throws {
    var setup = try RecordedPinProbeAndCheckTests.Setup()
    defer { setup.remove() }
    let result = try CLIRunner.run(
      setup.probe + ["--ca-file", try TestPKI.shared().caCertificatePath],
      environment: setup.sandbox.environment)
    #expect(result.status == 77, "\(result.stderr)")
    #expect(
      result.stderr.contains(
        "; the CA file given did not verify it; to trust this key alone, --pin \(setup.serverPin)\n"),
      "\(result.stderr)")
    #expect(!result.stderr.contains("for a private CA give --ca-file"), "\(result.stderr)")
    // Without one, the hint still names it.
    let plain = try CLIRunner.run(setup.probe, environment: setup.sandbox.environment)
    #expect(plain.status == 77, "\(plain.stderr)")
    #expect(plain.stderr.contains("for a private CA give --ca-file CA.pem"), "\(plain.stderr)")
  }
}
