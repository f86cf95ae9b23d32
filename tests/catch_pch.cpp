// Holds the precompiled Catch2 header that every test executable reuses.
