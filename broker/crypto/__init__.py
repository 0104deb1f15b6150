"""Key material, envelope encryption and pseudonyms.

CryptoError
├── KeyNotFound        a ciphertext names a key-encryption key this broker does not hold
├── DecryptionFailed   wrong associated data, tampering, the wrong key, or not a sealed value
├── InsecureKeyFile    a key file or directory others could read: refused, never used
└── MalformedKeyFile   a key file of the wrong size or shape: refused rather than guessed at
"""


class CryptoError(Exception):
    pass


class KeyNotFound(CryptoError):
    pass


class DecryptionFailed(CryptoError):
    pass


class InsecureKeyFile(CryptoError):
    pass


class MalformedKeyFile(CryptoError):
    pass
