import XCTest  // TagarelaWireTests placeholder: delete when the first real test lands
