// swift-tools-version:6.0
import PackageDescription

// Issue 14: how the release binary is laid out on Linux; nothing changes what it does. Each function gets a section
// of its own, so that the linker can place the ones a send runs side by side (Sources/sealpost/symbol-order.txt,
// written by Tests/bench/symbol-order.sh): the kernel maps a binary's code 64 KiB around each page a process
// touches, and the 2,400 functions of a send, spread over the 11 MB of code, made 7.7 MB of its peak RSS. lld
// (the toolchain's) reads that order, packs the relative relocations (DT_RELR, glibc 2.36: a 1 MB table that
// the loader read at every start becomes 8 KB) and exports no symbols (Swift's static link exports every public
// one, 0.45 MB of tables the loader searches; nothing here looks a symbol up at run time).
let releaseSections: [SwiftSetting] = [
  .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release))
]
let releaseLinking: [LinkerSetting] = [
  .unsafeFlags(
    [
      "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
      "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/sealpost/symbol-order.txt",
      "-Xlinker", "--no-warn-symbol-ordering",
    ], .when(platforms: [.linux], configuration: .release))
]

let package = Package(
  name: "Sealpost",
  products: [
    .executable(name: "sealpost", targets: ["sealpost"]),
    .library(name: "MailSender", targets: ["MailSender"]),
    .library(name: "MailSenderTesting", targets: ["MailSenderTesting"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    // C shims: the only places that see C headers. COpenSSL is a C target rather than a system library: SwiftPM
    // tracks no file of a system-library target, so an edit of its shim.h alone would leave a stale build.
    .target(name: "COpenSSL", publicHeadersPath: "."),
    .systemLibrary(name: "CNCursesW"),
    .systemLibrary(name: "CWCWidth"),

    // Core, imports point down only: MailMessage ← SMTPProtocol ← SMTPTransport ← MailSender.
    .target(name: "MailMessage", swiftSettings: releaseSections),
    .target(name: "SMTPProtocol", dependencies: ["MailMessage"], swiftSettings: releaseSections),
    .target(
      name: "SMTPTransport", dependencies: ["SMTPProtocol", "COpenSSL"], swiftSettings: releaseSections),
    .target(
      name: "MailSender",
      dependencies: ["MailMessage", "SMTPProtocol", "SMTPTransport"],
      exclude: ["Schemas"],
      swiftSettings: releaseSections
    ),

    // S/MIME (RFC 8551) with OpenSSL's CMS: certificates, signing, encryption of a built message; no I/O.
    .target(
      name: "MessageProtection", dependencies: ["COpenSSL", "MailMessage"], swiftSettings: releaseSections),

    // Config files → account values and secret sources; no network (DESIGN §2).
    .target(name: "Accounts", dependencies: ["MailMessage", "SMTPProtocol"], swiftSettings: releaseSections),

    // The terminal UI's pure core: screen buffer, display width, themes, keys, text editing (DESIGN §2, §7).
    // No curses and no file or terminal I/O: everything here is tested without a terminal.
    .target(
      name: "ComposerCore",
      dependencies: [
        "CWCWidth", "Accounts", "MailMessage", "SMTPProtocol", "SMTPTransport", "MailSender", "SendPlanning",
      ], swiftSettings: releaseSections),
    // The terminal UI's curses backend: the only importer of CNCursesW (terminal ownership, key decoding,
    // blitting screen buffers).
    .target(
      name: "CursesBackend", dependencies: ["CNCursesW", "ComposerCore"], swiftSettings: releaseSections),

    // The composer's runtime: owns the terminal, runs the model's effects (sends and probes through the send
    // handle, files, the external editor) and feeds the results back as messages (DESIGN §2, issue 9).
    .target(
      name: "ComposerApp",
      dependencies: [
        "ComposerCore", "CursesBackend", "SendPlanning", "MailSender", "Accounts", "MailMessage",
        "SMTPProtocol", "SMTPTransport",
      ],
      swiftSettings: releaseSections
    ),
    // Test kit: the composer headless — keys in, screens and the wire transcript out.
    .target(
      name: "ComposerTesting",
      dependencies: ["ComposerApp", "ComposerCore", "MailSenderTesting", "MailSender"]
    ),

    // Test kit: a scripted SMTP server (plaintext and TLS) and test-made certificates.
    .target(name: "MailSenderTesting", dependencies: ["COpenSSL", "SMTPTransport"]),

    // Planning, shared by every front end: account + overrides → a complete request, the secret's lookup and
    // binding, message assembly; typed errors each front end words itself (DESIGN §2).
    .target(
      name: "SendPlanning",
      dependencies: [
        "MailSender", "MailMessage", "SMTPProtocol", "SMTPTransport", "Accounts", "MessageProtection",
      ],
      swiftSettings: releaseSections
    ),

    .executableTarget(
      name: "sealpost",
      dependencies: [
        "SendPlanning", "MailSender", "SMTPProtocol", "SMTPTransport", "Accounts", "ComposerApp",
        "MessageProtection",
        "ComposerCore",
        "CursesBackend",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      exclude: ["symbol-order.txt"],
      swiftSettings: releaseSections,
      linkerSettings: releaseLinking
    ),

    // Test support: a seeded generator and the case runner of the property tests (DESIGN §9).
    .target(name: "PropertyTesting", path: "Tests/PropertyTesting"),

    // Test targets: each is enabled by the change that adds its first test file.

    .testTarget(
      name: "AccountsTests", dependencies: ["Accounts", "MailSenderTesting", "PropertyTesting"],
      exclude: ["Fixtures"]),

    .testTarget(name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "PropertyTesting"]),

    .testTarget(name: "MailMessageTests", dependencies: ["MailMessage", "PropertyTesting"]),

    .testTarget(name: "SMTPTransportTests", dependencies: ["SMTPTransport", "MailSenderTesting"]),

    .testTarget(
      name: "ComposerCoreTests",
      dependencies: [
        "ComposerCore", "CWCWidth", "PropertyTesting", "Accounts", "MailSender", "SMTPProtocol",
        "SMTPTransport",
        "SendPlanning",
      ],
      exclude: ["Snapshots"]),

    // The curses backend and its shim; these tests drive real ncurses through a pseudo-terminal.
    .testTarget(name: "CursesBackendTests", dependencies: ["CursesBackend", "ComposerCore", "CNCursesW"]),

    // The keystroke benchmark (Tests/bench/composer-keys.sh), apart so the product carries none of it.
    .executableTarget(
      name: "ComposerBench", dependencies: ["ComposerCore", "CursesBackend", "SendPlanning"],
      path: "Tests/bench/ComposerBench"),

    .testTarget(
      name: "MailSenderTests",
      dependencies: ["MailSender", "MailSenderTesting", "PropertyTesting"]
    ),

    .testTarget(
      name: "MessageProtectionTests",
      dependencies: ["MessageProtection", "MailMessage", "SendPlanning", "MailSenderTesting"]),

    .testTarget(
      name: "SendPlanningTests", dependencies: ["SendPlanning", "MailSenderTesting", "PropertyTesting"]),

    .testTarget(
      name: "ComposerAppTests",
      dependencies: [
        "ComposerApp", "ComposerTesting", "ComposerCore", "SendPlanning", "MailSender", "MailSenderTesting",
        "SMTPProtocol", "SMTPTransport", "Accounts",
      ]
    ),

    .testTarget(
      name: "SealpostCLITests",
      dependencies: ["MailSenderTesting", "PropertyTesting", "sealpost"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
