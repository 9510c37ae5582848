// The S/4HANA objects the hub reads, with the entity and field names of S/4's released OData V2
// APIs, as far as the hub's mappings use them (hub-sap's cloudevent and odata modules). Seeded
// from db/data/*.csv, the objects of the fixtures (crates/hub-sap/fixtures).
namespace s4;

// ---------------------------------------------------------------- API_BUSINESS_PARTNER
entity BusinessPartner {
  key BusinessPartner         : String(10);
      Customer                : String(10);
      BusinessPartnerCategory : String(1);
      BusinessPartnerFullName : String(81);
      OrganizationBPName1     : String(40);
      FirstName               : String(40);
      LastName                : String(40);
      SearchTerm1             : String(20);
      CorrespondenceLanguage  : String(2);
      IsMarkedForArchiving    : Boolean default false;
      // Set on every change, as S/4 keeps it.
      LastChangeDateTime      : Timestamp @cds.on.insert: $now @cds.on.update: $now;
      to_BusinessPartnerAddress : Composition of many BusinessPartnerAddress
                                    on to_BusinessPartnerAddress.BusinessPartner = BusinessPartner;
      to_BusinessPartnerTax     : Composition of many BusinessPartnerTaxNumber
                                    on to_BusinessPartnerTax.BusinessPartner = BusinessPartner;
      to_Customer               : Association to one Customer on to_Customer.Customer = Customer;
}

entity BusinessPartnerAddress {
  key BusinessPartner : String(10);
  key AddressID       : String(10);
      Country         : String(3);
      Region          : String(3);
      CityName        : String(40);
      PostalCode      : String(10);
      StreetName      : String(60);
      HouseNumber     : String(10);
}

entity BusinessPartnerTaxNumber {
  key BusinessPartner : String(10);
  key BPTaxType       : String(4);
      BPTaxNumber     : String(60);
}

entity Customer {
  key Customer             : String(10);
      CustomerAccountGroup : String(4);
      to_CustomerSalesArea : Composition of many CustomerSalesArea
                               on to_CustomerSalesArea.Customer = Customer;
}

entity CustomerSalesArea {
  key Customer                : String(10);
  key SalesOrganization       : String(4);
  key DistributionChannel     : String(2);
  key Division                : String(2);
      CustomerGroup           : String(2);
      SalesDistrict           : String(6);
      Currency                : String(5);
      IncotermsClassification : String(3);
      IncotermsLocation1      : String(70);
      CustomerPaymentTerms    : String(4);
      ShippingCondition       : String(2);
      to_PartnerFunction      : Composition of many CustSalesPartnerFunc
                                  on  to_PartnerFunction.Customer            = Customer
                                  and to_PartnerFunction.SalesOrganization   = SalesOrganization
                                  and to_PartnerFunction.DistributionChannel = DistributionChannel
                                  and to_PartnerFunction.Division            = Division;
}

entity CustSalesPartnerFunc {
  key Customer            : String(10);
  key SalesOrganization   : String(4);
  key DistributionChannel : String(2);
  key Division            : String(2);
  key PartnerCounter      : String(3);
  key PartnerFunction     : String(2);
      BPCustomerNumber    : String(10);
}

// ---------------------------------------------------------------- API_PRODUCT_SRV
entity Product {
  key Product            : String(40);
      ProductType        : String(4);
      IndustrySector     : String(1);
      ProductGroup       : String(9);
      BaseUnit           : String(3);
      GrossWeight        : Decimal(13, 3);
      NetWeight          : Decimal(13, 3);
      WeightUnit         : String(3);
      MaterialVolume     : Decimal(13, 3);
      VolumeUnit         : String(3);
      ProductStandardID  : String(18);
      CreationDate       : Date;
      LastChangeDate     : Date;
      IsMarkedForDeletion: Boolean default false;
      LastChangeDateTime : Timestamp @cds.on.insert: $now @cds.on.update: $now;
      to_Description     : Composition of many ProductDescription on to_Description.Product = Product;
      to_Plant           : Composition of many ProductPlant on to_Plant.Product = Product;
}

entity ProductDescription {
  key Product            : String(40);
  key Language           : String(2);
      ProductDescription : String(40);
}

entity ProductPlant {
  key Product                       : String(40);
  key Plant                         : String(4);
      MRPType                       : String(2);
      MRPResponsible                : String(3);
      PurchasingGroup               : String(3);
      PlannedDeliveryDurationInDays : Decimal(3, 0);
      GoodsReceiptDuration          : Decimal(3, 0);
      ReorderThresholdQuantity      : Decimal(13, 3);
      SafetyStockQuantity           : Decimal(13, 3);
      ProfileCode                   : String(2);
}

// ---------------------------------------------------------------- API_SALES_ORDER_SRV
entity SalesOrder {
  key SalesOrder                : String(10);
      SalesOrderType            : String(4);
      SalesOrganization         : String(4);
      DistributionChannel       : String(2);
      OrganizationDivision      : String(2);
      SoldToParty               : String(10);
      TransactionCurrency       : String(5);
      CustomerPaymentTerms      : String(4);
      PurchaseOrderByCustomer   : String(35);
      CustomerPurchaseOrderDate : Date;
      SalesOrderDate            : Date;
      RequestedDeliveryDate     : Date;
      TotalNetAmount            : Decimal(16, 3);
      LastChangeDateTime        : Timestamp @cds.on.insert: $now @cds.on.update: $now;
      to_Item                   : Composition of many SalesOrderItem on to_Item.SalesOrder = SalesOrder;
      to_Partner                : Composition of many SalesOrderHeaderPartner on to_Partner.SalesOrder = SalesOrder;
}

entity SalesOrderItem {
  key SalesOrder            : String(10);
  key SalesOrderItem        : String(6);
      Material              : String(40);
      SalesOrderItemText    : String(40);
      RequestedQuantity     : Decimal(15, 3);
      RequestedQuantityUnit : String(3);
      NetAmount             : Decimal(16, 3);
      ProductionPlant       : String(4);
      MaterialGroup         : String(9);
}

entity SalesOrderHeaderPartner {
  key SalesOrder      : String(10);
  key PartnerFunction : String(2);
      Customer        : String(10);
      Supplier        : String(10);
}
