package pidf

// Document is a PIDF presence document (RFC 3863 §4.1). The pidf issue
// fills in its fields.
type Document struct {
	Entity string
}

// Marshal encodes d as well-formed UTF-8 XML.
func (d *Document) Marshal() ([]byte, error) { panic("pidf: built by the rules issue") }
