import XCTest  // TagarelaLinkTests placeholder: delete when the first real test lands
