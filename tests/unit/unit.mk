# Host unit tests (cmocka) for the hv's pure logic.
unit-bin:
