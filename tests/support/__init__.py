"""What the tests share: constants, settings helpers, platform answers, local servers, row builders."""
