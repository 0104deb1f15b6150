"""The consent and lawful-basis engine: pure functions over agreements and consent records."""
