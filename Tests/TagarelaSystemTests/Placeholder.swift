import XCTest  // TagarelaSystemTests placeholder: delete when the first real test lands
