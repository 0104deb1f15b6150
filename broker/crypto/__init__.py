"""Key material, envelope encryption and pseudonyms.

CryptoError
├── KeyNotFound        a ciphertext names a key-encryption key this broker does not hold
├── DecryptionFailed   wrong associated data, tampering, or the wrong key
└── InsecureKeyFile    a key file others could read: refused, never used
"""


class CryptoError(Exception):
    pass


class KeyNotFound(CryptoError):
    pass


class DecryptionFailed(CryptoError):
    pass


class InsecureKeyFile(CryptoError):
    pass
