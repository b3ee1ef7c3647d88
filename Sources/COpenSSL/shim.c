// COpenSSL is a C target (see Package.swift) so that SwiftPM rebuilds the Swift code importing it when shim.h
// changes. A C target needs a source file; everything it offers is in shim.h (static inline wrappers).
#include "shim.h"
