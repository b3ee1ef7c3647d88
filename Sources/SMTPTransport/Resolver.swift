import COpenSSL
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One address getaddrinfo gave for a host.
struct ResolvedAddress: Sendable {
  var family: Int32
  var storage: sockaddr_storage
  var length: socklen_t
  var peer: PeerAddress
}

/// getaddrinfo (AF_UNSPEC, SOCK_STREAM) bounded by a deadline and a cancellation: names are resolved on a
/// detached helper thread (getaddrinfo itself cannot be interrupted), literals synchronously.
enum Resolver {
  static func resolve(
    host: String, port: UInt16, deadline: Deadline, cancellation: Cancellation
  ) throws(TransportError) -> [ResolvedAddress] {
    if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while resolving \(host)") }
    if IPAddressParser.isLiteral(host) {
      return try lookup(host: host, port: port, numeric: true).get()
    }
    let job = ResolverJob(host: host, port: port)
    guard job.doneDescriptor >= 0 else {
      // No descriptor to wait on: resolve on this thread (not interruptible, but correct).
      return try lookup(host: host, port: port, numeric: false).get()
    }
    var thread = pthread_t()
    let retained = Unmanaged.passRetained(job).toOpaque()
    let created = pthread_create(
      &thread, nil,
      { argument in
        guard let argument else { return nil }
        let job = Unmanaged<ResolverJob>.fromOpaque(argument).takeRetainedValue()
        job.run()
        return nil
      }, retained)
    if created != 0 {
      Unmanaged<ResolverJob>.fromOpaque(retained).release()
      return try lookup(host: host, port: port, numeric: false).get()
    }
    pthread_detach(thread)
    try SocketWait.wait(
      descriptor: job.doneDescriptor, events: SocketWait.readable, deadline: deadline,
      cancellation: cancellation, step: "resolving \(host)")
    guard let outcome = job.outcome.withLock({ $0 }) else {
      throw TransportError(.io, "resolving \(host) gave no result")
    }
    return try outcome.get()
  }

  static func lookup(host: String, port: UInt16, numeric: Bool) -> Result<[ResolvedAddress], TransportError> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0 else {
      let text = String(cString: gai_strerror(status))
      switch status {
      case EAI_SYSTEM:
        return .failure(TransportError(.io, "resolving \(host) failed: \(errorText(errno))"))
      case EAI_MEMORY, EAI_SERVICE, EAI_SOCKTYPE, EAI_BADFLAGS:
        return .failure(TransportError(.io, "resolving \(host) failed: \(text)"))
      default:
        // EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY, EAI_FAIL, EAI_AGAIN: the name gives no address.
        return .failure(TransportError(.hostNotFound, "host \(host) not found: \(text)"))
      }
    }
    defer { freeaddrinfo(list) }
    var addresses: [ResolvedAddress] = []
    var entry = list
    while let current = entry {
      defer { entry = current.pointee.ai_next }
      let info = current.pointee
      guard let address = info.ai_addr, info.ai_family == AF_INET || info.ai_family == AF_INET6,
        Int(info.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size
      else { continue }
      var storage = sockaddr_storage()
      withUnsafeMutableBytes(of: &storage) { target in
        target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(info.ai_addrlen)))
      }
      guard let peer = IPAddressParser.peerAddress(storage) else { continue }
      if addresses.contains(where: { $0.peer == peer }) { continue }
      addresses.append(
        ResolvedAddress(family: info.ai_family, storage: storage, length: info.ai_addrlen, peer: peer))
    }
    if addresses.isEmpty {
      return .failure(TransportError(.hostNotFound, "host \(host) has no IPv4 or IPv6 address"))
    }
    return .success(addresses)
  }
}

/// State shared between a waiting connect and its resolver thread; the thread signals `doneDescriptor`.
final class ResolverJob: Sendable {
  let host: String
  let port: UInt16
  let doneDescriptor: Int32
  let outcome = Mutex<Result<[ResolvedAddress], TransportError>?>(nil)

  init(host: String, port: UInt16) {
    self.host = host
    self.port = port
    doneDescriptor = sealpost_eventfd()
  }

  deinit {
    if doneDescriptor >= 0 { Glibc.close(doneDescriptor) }
  }

  func run() {
    let result = Resolver.lookup(host: host, port: port, numeric: false)
    outcome.withLock { $0 = result }
    var one: UInt64 = 1
    _ = withUnsafeBytes(of: &one) { Glibc.write(doneDescriptor, $0.baseAddress, $0.count) }
  }
}
