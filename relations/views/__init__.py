"""Relations' views, by topic: the list (listing), one relation's pages (pages), inline parts (parts)."""
