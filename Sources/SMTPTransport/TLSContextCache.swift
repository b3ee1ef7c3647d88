import COpenSSL
import Synchronization

/// Client TLS contexts (`SSL_CTX`), one per set of trust anchors and range of offered versions, made once per
/// process and shared by every connection that asks for the same: the check of a CA file before connecting and
/// the handshake after it, every send and probe of one composer session (and every message of a batch).
/// Creating a context and parsing its anchors cost more CPU than the handshake itself on loopback (issue 14).
///
/// Nothing decided per connection lives on the shared context: the server name and its check, SNI, the verify
/// mode and callback (which stops at the first failure with CA trust and lets pins decide otherwise), the
/// handshake trace and its app data are all set on each connection's `SSL`. No session is cached or resumed
/// (OpenSSL's client side keeps none unless told to), so every handshake verifies the chain afresh.
///
/// Anchors are keyed by their bytes, not by a path: a CA file that changed between two sends is a new key.
enum TLSContextCache {
  /// Where a context's trust anchors come from.
  enum Anchors: Hashable {
    /// The system store (``SystemTrustStore``), also loaded under pins so the chain can be shown.
    case system
    /// The PEM certificates of a CA file or an account's `tls_trust_file`; they replace the system store.
    case pem([UInt8])
  }

  /// Why a context could not be made.
  enum Failure: Error {
    /// The PEM bytes hold no certificate that OpenSSL takes.
    case noCertificate
    /// OpenSSL could not make or set up the context; `message` says which step.
    case context(String)
  }

  /// A distinct set of anchors per process is rare (the system store, a CA file, an account's trust file): a
  /// few entries suffice. When the table is full, the context used least recently makes room for the new one:
  /// emptying the whole table instead would drop the contexts that are in use too, so two connections made
  /// back to back could get two contexts (seen in `swift test`, where other tests make contexts meanwhile).
  static let maximumEntries = 16

  private struct Key: Hashable {
    var anchors: Anchors
    var lowest: TLSVersion
    var highest: TLSVersion
  }

  /// Holds the cache's own reference to a context.
  private final class Entry: @unchecked Sendable {
    let context: OpaquePointer
    init(_ context: OpaquePointer) { self.context = context }
    deinit { SSL_CTX_free(context) }
  }

  private static let entries = Mutex(Table<Key, Entry>(capacity: maximumEntries))

  /// A context with `anchors` loaded, offering `versions`: the caller owns the reference returned and frees it
  /// with `SSL_CTX_free` (a connection does so in `close()`).
  static func acquire(_ anchors: Anchors, versions: ClosedRange<TLSVersion>) throws(Failure) -> OpaquePointer
  {
    let key = Key(anchors: anchors, lowest: versions.lowerBound, highest: versions.upperBound)
    let cached = entries.withLock { table -> Entry? in
      guard let entry = table.use(key) else { return nil }
      SSL_CTX_up_ref(entry.context)
      return entry
    }
    if let cached { return cached.context }
    let entry = Entry(try makeContext(anchors, versions: versions))
    SSL_CTX_up_ref(entry.context)
    // An evicted entry is released after the lock (its context lives on while a connection holds a reference).
    _ = entries.withLock { $0.insert(entry, for: key) }
    return entry.context
  }

  /// The context kept for `anchors` and `versions`, without taking a reference: for tests, which compare it
  /// with a connection's.
  static func peek(_ anchors: Anchors, versions: ClosedRange<TLSVersion>) -> OpaquePointer? {
    let key = Key(anchors: anchors, lowest: versions.lowerBound, highest: versions.upperBound)
    return entries.withLock { $0.peek(key)?.context }
  }

  /// At most `capacity` values by key; when full, inserting drops the value used least recently (looked up with
  /// `use` or inserted). A linear scan finds it: the table is a few entries long.
  struct Table<TableKey: Hashable, Value> {
    let capacity: Int
    private var slots: [TableKey: (value: Value, lastUse: UInt64)] = [:]
    private var uses: UInt64 = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { slots.count }

    /// The value for `key`, which becomes the one used most recently.
    mutating func use(_ key: TableKey) -> Value? {
      guard let slot = slots[key] else { return nil }
      uses += 1
      slots[key] = (slot.value, uses)
      return slot.value
    }

    /// The value for `key`, leaving the order of use as it is.
    func peek(_ key: TableKey) -> Value? { slots[key]?.value }

    /// Stores `value` as the one used most recently; returns the value it replaced or evicted, if any.
    @discardableResult
    mutating func insert(_ value: Value, for key: TableKey) -> Value? {
      uses += 1
      if let replaced = slots.updateValue((value, uses), forKey: key) { return replaced.value }
      guard slots.count > capacity,
        let oldest = slots.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
      else { return nil }
      return slots.removeValue(forKey: oldest)?.value
    }
  }

  private static func makeContext(_ anchors: Anchors, versions: ClosedRange<TLSVersion>) throws(Failure)
    -> OpaquePointer
  {
    ERR_clear_error()
    guard let context = SSL_CTX_new(TLS_client_method()) else {
      throw .context("cannot create a TLS context: \(openSSLErrorReason() ?? "")")
    }
    do throws(Failure) {
      try configure(context, anchors: anchors, versions: versions)
    } catch {
      SSL_CTX_free(context)
      ERR_clear_error()
      throw error
    }
    return context
  }

  private static func configure(_ context: OpaquePointer, anchors: Anchors, versions: ClosedRange<TLSVersion>)
    throws(Failure)
  {
    guard sealpost_SSL_CTX_set_min_proto_version(context, Int32(versions.lowerBound.rawValue)) == 1,
      sealpost_SSL_CTX_set_max_proto_version(context, Int32(versions.upperBound.rawValue)) == 1
    else {
      throw .context("cannot offer \(versions.lowerBound)–\(versions.upperBound)")
    }
    if versions.lowerBound < .tls12 {
      // TLS 1.0/1.1 need SHA-1 and old ciphers: only when explicitly asked for (the probe).
      SSL_CTX_set_security_level(context, 0)
      _ = SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=0")
    }
    sealpost_SSL_CTX_ignore_unexpected_eof(context)
    sealpost_SSL_CTX_no_renegotiation(context)
    _ = sealpost_SSL_CTX_set_mode_moving_write_buffer(context)

    switch anchors {
    case .system:
      guard SystemTrustStore.load(into: context) else {
        throw .context("cannot load the system CA store")
      }
    case .pem(let pem):
      // The certificates replace the system store; a self-signed certificate among them is an anchor, hence
      // partial chains.
      guard let store = SSL_CTX_get_cert_store(context) else {
        throw .context("cannot create a certificate store")
      }
      var added = 0
      let count = CertificateFile.withCertificates(pem) { certificate in
        if X509_STORE_add_cert(store, certificate) == 1 { added += 1 }
      }
      ERR_clear_error()
      guard count > 0, added > 0 else { throw .noCertificate }
      X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(context), sealpost_X509_V_FLAG_PARTIAL_CHAIN())
    }
  }
}
