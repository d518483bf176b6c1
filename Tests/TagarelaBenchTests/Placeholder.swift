import XCTest  // TagarelaBenchTests placeholder: delete when the first real test lands
