import ArgumentParser

/// Where trust comes from, as `send` and `probe` both take it (DESIGN §3.2).
struct TrustOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp("Trust only the CAs in this PEM file (replaces the system store).", valueName: "pem"),
    completion: .file(extensions: ["pem", "crt"]))
  var caFile: String?

  @Option(
    help: ArgumentHelp("Trust a leaf key instead of a CA chain: sha256/BASE64 of its SPKI.", valueName: "pin")
  )
  var pin: [String] = []
}
