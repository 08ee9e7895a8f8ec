"""The invoice processing workflow: read an invoice (text, Markdown or PDF), match its purchase order, pay or flag it."""
