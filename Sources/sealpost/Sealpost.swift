import ArgumentParser

@main
struct Sealpost: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sealpost",
    abstract: "A terminal mail composer that never sends mail or credentials over an untrusted channel."
  )
}
