/// The shipped `themes/default.theme`, word for word (a test compares them): the composer still opens when the
/// binary was copied somewhere without its `themes/` folder.
extension ThemeFile {
  public static let builtInDefaultText = #"""
    # Sealpost default theme: the terminal's own foreground and background, accents from the 8 basic colours
    # (so it reads the same on 8-, 16- and 256-colour terminals, dark or light).
    # Syntax: role.attribute = value; see README.md, "Themes".

    title.bold = true
    title.fg = cyan

    status.fg = default
    status.error.fg = red
    status.error.bold = true
    status.ok.fg = green

    keys.reverse = true

    field.label.fg = cyan
    field.text.fg = default
    field.error.fg = red

    cursor.reverse = true
    selection.reverse = true
    *.selected.reverse = true

    transcript.plain.fg = default
    transcript.tls.fg = cyan
    transcript.tlsstep.fg = blue
    transcript.tlsstep.bold = true
    transcript.info.fg = default
    transcript.info.dim = true
    transcript.warning.fg = yellow
    transcript.warning.bold = true
    transcript.error.fg = red
    transcript.error.bold = true
    transcript.data.fg = magenta

    verdict.*.bold = true
    verdict.ok.fg = green
    verdict.refused.fg = red
    verdict.unknown.fg = yellow
    verdict.cancelled.fg = default

    border.fg = blue
    help.fg = default

    """#
}
