import XCTest  // TagarelaEventLoopTests placeholder: delete when the first real test lands
