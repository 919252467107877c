"""The Kravia debt-collection agency adapter (registered, not yet usable; see ``plugin``)."""
