import XCTest  // EndToEndTests placeholder: delete when the first real test lands
