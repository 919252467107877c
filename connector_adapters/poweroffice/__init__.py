"""The PowerOffice Go ERP adapter (registered, not yet usable; see ``plugin``)."""
