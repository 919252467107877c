"""The PowerOffice Go ERP adapter over API v2 (``docs/adapters/poweroffice.md``)."""
