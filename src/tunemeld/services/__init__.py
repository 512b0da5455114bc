"""The shared service layer: store, cache, HTTP, providers, sample world, logging, monitoring."""
