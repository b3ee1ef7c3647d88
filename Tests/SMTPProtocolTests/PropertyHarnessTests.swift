import PropertyTesting
import Testing

/// The property harness itself: reproducible cases, and a failure message that names the seed.
@Suite struct PropertyHarnessTests {
  @Test func splitMix64MatchesTheReferenceOutput() {
    // Vigna's splitmix64.c with x = 0.
    var rng = SplitMix64(seed: 0)
    #expect(
      [rng.next(), rng.next(), rng.next()] == [
        0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4, 0x06c4_5d18_8009_454f,
      ])
  }

  @Test func casesAreReproducibleAndNameTheirSeed() {
    let first = Property.cases("harness", count: 5)
    let again = Property.cases("harness", count: 5)
    #expect(first.map(\.seed) == again.map(\.seed))
    #expect(Set(first.map(\.seed)).count == first.count)
    #expect(Property.cases("another", count: 5).map(\.seed) != first.map(\.seed))
    var one = first[0].generator
    var two = again[0].generator
    #expect(one.bytes(maxLength: 50) == two.bytes(maxLength: 50))
    for propertyCase in first {
      #expect(propertyCase.description.contains(Property.hex(propertyCase.seed)))
      #expect(propertyCase.description.contains("SEALPOST_PROPERTY_CASE="))
    }
    #expect(Property.hex(0x2A) == "0x000000000000002a")
  }

  @Test func chunksConcatenateBack() {
    for propertyCase in Property.cases("harness chunks", count: 200) {
      var gen = propertyCase.generator
      let bytes = gen.bytes(maxLength: 100)
      #expect(gen.chunks(of: bytes).flatMap { $0 } == bytes, "\(propertyCase)")
    }
  }
}
