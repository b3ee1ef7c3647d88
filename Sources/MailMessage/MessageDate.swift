import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// RFC 5322 §3.3 date-time, computed from the civil calendar directly so it does not depend on a locale.
public enum MessageDate {
  static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday.
  static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

  /// `timeZone` nil: the local zone, as the C library has it (`TZ`, else /etc/localtime).
  static func format(_ date: Date, timeZone: TimeZone?) -> String {
    // In whole minutes, toward zero: the field has no seconds for the zone (`+0530`), and the time it shows must
    // be the instant in that zone (red team: `TZ='<+0530>-5:30:30'` showed the time 30 s off).
    let offset = (timeZone?.secondsFromGMT(for: date) ?? localOffset(at: date)) / 60 * 60
    let local = Int64(date.timeIntervalSince1970.rounded(.down)) + Int64(offset)
    let days = floorDivide(local, 86_400)
    let secondOfDay = Int(local - days * 86_400)
    let (year, month, day) = civilDate(daysSinceEpoch: days)
    let weekday = weekdays[Int(((days % 7) + 7) % 7)]
    let offsetMinutes = abs(offset) / 60
    return "\(weekday), \(pad(day, 2)) \(months[month - 1]) \(pad(Int(year), 4)) "
      + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)) "
      + (offset < 0 ? "-" : "+") + pad(offsetMinutes / 60, 2) + pad(offsetMinutes % 60, 2)
  }

  /// Seconds east of UTC of the local zone at `date`, from `localtime_r`: the C library reads the zone once,
  /// where Foundation's `TimeZone.current` parsed it again with its own reader at a million instructions per
  /// process (issue 14). A POSIX `TZ` string such as `<+0530>-5:30` works too.
  static func localOffset(at date: Date) -> Int {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    tzset()
    guard localtime_r(&seconds, &parts) != nil else { return 0 }
    return Int(parts.tm_gmtoff)
  }

  private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
  }

  private static func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }

  /// `2027-01-31`: the UTC date of Unix time `seconds` (certificate validity in transcripts and reports).
  public static func isoDate(unixSeconds seconds: Int64) -> String {
    let (year, month, day) = civilDate(daysSinceEpoch: floorDivide(seconds, 86_400))
    return "\(pad(Int(year), 4))-\(pad(month, 2))-\(pad(day, 2))"
  }

  /// `2027-01-31T08:05:09Z`: the UTC date and time of Unix time `seconds` in the layout of RFC 3339 §5.6 (ISO
  /// 8601), as Foundation's `ISO8601DateFormatter` writes it by default (log lines).
  public static func isoDateTime(unixSeconds seconds: Int64) -> String {
    let (date, time) = utc(seconds)
    return "\(pad(Int(date.year), 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T"
      + "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2))Z"
  }

  /// `20270131-080509`: the UTC date and time of Unix time `seconds`, digits only, for file names that sort by
  /// time.
  public static func compactDateTime(unixSeconds seconds: Int64) -> String {
    let (date, time) = utc(seconds)
    return "\(pad(Int(date.year), 4))\(pad(date.month, 2))\(pad(date.day, 2))-"
      + "\(pad(time.hour, 2))\(pad(time.minute, 2))\(pad(time.second, 2))"
  }

  private static func utc(
    _ seconds: Int64
  ) -> (date: (year: Int64, month: Int, day: Int), time: (hour: Int, minute: Int, second: Int)) {
    let days = floorDivide(seconds, 86_400)
    let secondOfDay = Int(seconds - days * 86_400)
    return (civilDate(daysSinceEpoch: days), (secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60))
  }

  /// Howard Hinnant's `civil_from_days`: proleptic Gregorian year, month (1–12) and day.
  private static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int, day: Int) {
    let shifted = days + 719_468
    let era = floorDivide(shifted, 146_097)
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
    let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (year, month, day)
  }
}
