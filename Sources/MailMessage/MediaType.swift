/// The MIME type of an attachment from its file name's extension: a small table of what people attach, and
/// `application/octet-stream` for everything else (RFC 2046 §4.5.1), which every reader offers to save.
public enum MediaType {
  static let byExtension: [String: String] = [
    "txt": "text/plain", "text": "text/plain", "log": "text/plain", "md": "text/markdown",
    "csv": "text/csv", "tsv": "text/tab-separated-values", "html": "text/html", "htm": "text/html",
    "css": "text/css", "ics": "text/calendar", "vcf": "text/vcard",
    "xml": "application/xml", "json": "application/json", "pdf": "application/pdf",
    "zip": "application/zip", "gz": "application/gzip", "tgz": "application/gzip", "tar": "application/x-tar",
    "xz": "application/x-xz", "bz2": "application/x-bzip2", "7z": "application/x-7z-compressed",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "asc": "application/pgp-signature", "sig": "application/pgp-signature",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
    "svg": "image/svg+xml", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
    "heic": "image/heic", "mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav", "flac": "audio/flac",
    "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
  ]

  public static let fallback = "application/octet-stream"

  /// `report.PDF` → `application/pdf`; no extension or an unknown one → `application/octet-stream`.
  public static func forFileName(_ name: String) -> String {
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return fallback }
    let suffix = name[name.index(after: dot)...].lowercased()
    return byExtension[suffix] ?? fallback
  }
}
