import XCTest  // TagarelaModelTests placeholder: delete when the first real test lands
